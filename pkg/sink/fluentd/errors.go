package fluentd

import "errors"

// ErrConfig is the error [New] wraps for a configuration it cannot use: a missing or
// malformed URL, unreadable or mismatched TLS files, limits out of range. The message names
// the key and the file, never a file's contents.
var ErrConfig = errors.New("fluentd sink: invalid configuration")
