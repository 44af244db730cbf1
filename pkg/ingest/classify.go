package ingest

import "github.com/auditpipe/auditpipe/pkg/teleportsrc"

// classifyTeleport is the default of Deps.Classify: teleportsrc.Classify's actions as classes.
// Canceled (the Client was closed under the engine, or a context of its own ended) is Fatal:
// no call succeeds after it. The engine's own context ending is handled before classifying.
func classifyTeleport(err error) Class {
	switch teleportsrc.Classify(err) {
	case teleportsrc.NotFound:
		return NotFound
	case teleportsrc.NotImplemented:
		return NotImplemented
	case teleportsrc.BadCursor:
		return BadCursor
	case teleportsrc.Fatal, teleportsrc.Canceled:
		return Fatal
	}
	return Retry
}
