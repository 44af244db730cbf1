// Package filewatch calls a reload function when files change on disk: the Teleport identity
// file, the admin tokens file, TLS certificates, keys and CA bundles.
//
// A Watcher watches the directories of its files with fsnotify, not the files themselves. The
// writers that matter replace a file rather than write into it — tbot and editors rename a new
// file over the old one, and Kubernetes updates a mounted secret by pointing its "..data"
// symlink at a new directory — and a watch on the file itself would follow the replaced inode
// and miss every change after the first. Any event in a watched directory counts, whatever the
// name: a secret's files are reached through "..data", so the name of the event is not the
// file's. The reload function must therefore be cheap and idempotent when nothing it reads has
// changed (compare the content with what was last loaded).
//
// Events are debounced: the reload runs once the directories have been quiet for
// [Config.Debounce] after the last event, so a writer that replaces several files, or writes one
// in parts, causes one reload of the finished result. A reload can still read a half-written
// file (a writer slower than the debounce); the reload function must then keep what it has,
// and the writer's next event brings another reload.
//
// [Config.Interval], when set, also reloads on a timer: the fallback for what a directory
// watch cannot see — a file that is a symlink into another directory, network file systems.
//
// The contract:
//   - [New] starts the watch; the caller owns the Watcher and stops it with [Watcher.Close].
//   - Reload calls are serialised, one at a time on the Watcher's goroutine, never after Close
//     has returned. The context a Reload gets ends when Close is called.
//   - Errors of the watch (fsnotify's, such as a queue overflow) go to [Config.OnError]; none
//     panics or stops the Watcher. After an overflow, events may be lost, so a reload follows.
//   - A Watcher never reads the files: what a reload reads, and what it does with a failure,
//     is the reload function's business.
package filewatch
