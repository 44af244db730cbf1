package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/teleportsrc"
)

// Source is the Teleport audit log as the engine reads it; *teleportsrc.Client implements it
// over the Teleport API. Its methods are called from many goroutines at once. Errors are
// turned into decisions by Deps.Classify.
type Source interface {
	// ProbeExport reports whether the cluster serves the bulk export API.
	ProbeExport(ctx context.Context) (bool, error)
	// Search returns one page of at most limit audit events with from <= time <= to (both
	// inclusive, as Teleport's search), of the given types (all when empty), in ascending
	// order, after cursor ("" = from the start), and the cursor of the next page: "" when the
	// range is exhausted. A cursor is valid only for the same from, to and types.
	Search(ctx context.Context, from, to time.Time, types []string, limit int, cursor string) ([]event.Event, string, error)
	// ExportChunks lists the export chunks of one UTC day (day is its midnight).
	ExportChunks(ctx context.Context, day time.Time) ([]string, error)
	// ExportChunk yields the events of one chunk of a UTC day after cursor ("" = from the
	// start), each with the cursor that resumes after it. It returns yield's error (wrapped or
	// not) when yield fails.
	ExportChunk(ctx context.Context, day time.Time, chunk, cursor string, yield func(event.Event, string) error) error
	// SessionEvents yields a session recording's events with index >= startIndex, in order. It
	// returns yield's error (wrapped or not) when yield fails.
	SessionEvents(ctx context.Context, sid string, startIndex int64, yield func(event.Event) error) error
}

// Class is what the engine does about a Source error.
type Class int

const (
	// Retry: transient (connection lost, rate limited, timeout): back off and call again.
	Retry Class = iota
	// NotFound: a recording not uploaded yet, or an export chunk not there (yet).
	NotFound
	// NotImplemented: the backend has no bulk export API.
	NotImplemented
	// BadCursor: Teleport refused the cursor; the window is read again from its start.
	BadCursor
	// Fatal: no retry helps (access denied, expired credentials): Run stops with the error.
	Fatal
)

// String is the class's name, also its label in metrics.
func (c Class) String() string {
	switch c {
	case Retry:
		return "retry"
	case NotFound:
		return "not_found"
	case NotImplemented:
		return "not_implemented"
	case BadCursor:
		return "bad_cursor"
	case Fatal:
		return "fatal"
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// SourceError is a Source error that the engine does not retry, with its Class.
type SourceError struct {
	Op    string // the Source method
	Class Class
	Err   error
}

func (e *SourceError) Error() string {
	return fmt.Sprintf("ingest: teleport %s: %s: %v", e.Op, e.Class, e.Err)
}

func (e *SourceError) Unwrap() error { return e.Err }

// classOf returns the class of a *SourceError in err's chain, and whether there is one.
func classOf(err error) (Class, bool) {
	var se *SourceError
	if errors.As(err, &se) {
		return se.Class, true
	}
	return 0, false
}

// retrier paces the attempts at one Teleport call (or one stream, resumed from its last
// commit): Retry-class errors back off exponentially; progress resets the backoff.
type retrier struct {
	e  *Engine
	op string
	b  backoff.ExponentialBackOff
}

func (e *Engine) retrier(op string) *retrier {
	r := &retrier{e: e, op: op, b: backoff.ExponentialBackOff{
		InitialInterval:     e.cfg.RetryInitial,
		RandomizationFactor: backoff.DefaultRandomizationFactor,
		Multiplier:          2,
		MaxInterval:         e.cfg.RetryMax,
	}}
	r.b.Reset()
	return r
}

// progress resets the backoff after a call made progress.
func (r *retrier) progress() { r.b.Reset() }

// failed decides after a call failed with err: nil once it waited its backoff for a Retry
// error; a *SourceError for another class; the cause of ctx when ctx ended (also while
// waiting). A ctx ending is never counted as a Teleport error.
func (r *retrier) failed(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	class := r.e.classify(err)
	r.e.m.teleportErrors.WithLabelValues(r.op, teleportsrc.Code(err).String(), class.String()).Inc()
	if class != Retry {
		return &SourceError{Op: r.op, Class: class, Err: err}
	}
	wait := r.b.NextBackOff()
	r.e.log.Warn("teleport call failed, retrying", "op", r.op, "err", err, "wait", wait)
	if !sleep(ctx, wait) {
		return context.Cause(ctx)
	}
	return nil
}

// call runs fn until it succeeds or fails with something other than a Retry error.
func call[T any](ctx context.Context, r *retrier, fn func() (T, error)) (T, error) {
	for {
		v, err := fn()
		if err == nil {
			return v, nil
		}
		if err := r.failed(ctx, err); err != nil {
			var zero T
			return zero, err
		}
	}
}

// sleep waits d and reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
