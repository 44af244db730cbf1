package stream

import "github.com/auditpipe/auditpipe/pkg/config"

// OptionsFromConfig returns the stream options of the [nats] configuration section: the one
// mapping every service uses, so that the replicas of ingest, shipper and admin, which all
// call Ensure, ask for the same stream and never flip its limits back and forth.
//
// nats.max-age = 0 keeps events without an age limit (docs/config.md), which Options says
// with a negative MaxAge (its 0 means DefaultMaxAge). nats.max-bytes = -1 is no limit, as
// is any MaxBytes ≤ 0.
func OptionsFromConfig(n config.NATS) Options {
	maxAge := n.MaxAge
	if maxAge == 0 {
		maxAge = -1
	}
	return Options{
		Name:            n.Stream,
		Replicas:        n.Replicas,
		MaxAge:          maxAge,
		MaxBytes:        int64(n.MaxBytes),
		DuplicateWindow: n.DuplicateWindow,
	}
}
