package ingest

import (
	"errors"

	"github.com/auditpipe/auditpipe/pkg/event"
)

// yieldError carries an error of the engine's own (publish, commit, stop) out of a Source's
// streaming call, so that it is not mistaken for a Teleport error.
type yieldError struct{ err error }

func (y *yieldError) Error() string { return y.err.Error() }
func (y *yieldError) Unwrap() error { return y.err }

// fromYield returns the engine's own error that ended a streaming call, if it was one.
func fromYield(err error) (error, bool) {
	var y *yieldError
	if errors.As(err, &y) {
		return y.err, true
	}
	return nil, false
}

// yielded wraps err (nil stays nil) for returning from a yield function.
func yielded(err error) error {
	if err == nil {
		return nil
	}
	return &yieldError{err: err}
}

// export reads an export window (one chunk of one UTC day) from its cursor to its end, as one
// stream cut into pages of Batch events: each page is delivered, then the cursor of its last
// event committed. The chunk never changes, so the window is done at the end of the stream. A
// stream that breaks transiently is opened again, after a backoff, from the last committed
// cursor (the partial page is read again); a refused cursor restarts the chunk.
func (wr *windowRead) export() error {
	w := wr.w
	cursor := w.Cursor
	rt := wr.retrier("export-chunk")
	for {
		var page []event.Event
		scanned, last := 0, cursor
		err := wr.src.ExportChunk(wr.h.fetch, w.From, w.Chunk, cursor, func(ev event.Event, c string) error {
			if wr.keep(&ev) {
				page = append(page, ev)
			}
			scanned, last = scanned+1, c
			if scanned < wr.cfg.Batch {
				return nil
			}
			if err := wr.deliver(page); err != nil {
				return yielded(err)
			}
			if err := wr.commit(last); err != nil {
				return yielded(err)
			}
			cursor, page, scanned = last, nil, 0
			rt.progress()
			return yielded(wr.between())
		})
		if err == nil {
			return wr.deliver(page)
		}
		if own, ok := fromYield(err); ok {
			return own
		}
		err = rt.failed(wr.h.fetch, err)
		if class, ok := classOf(err); ok && class == BadCursor && cursor != "" {
			wr.log.Warn("teleport refused the cursor; reading the chunk again from its start", "cursor", cursor, "err", err)
			cursor = ""
			continue
		}
		if err != nil {
			return err
		}
	}
}
