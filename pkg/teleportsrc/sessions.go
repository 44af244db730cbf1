package teleportsrc

import (
	"context"
	"fmt"
	"math"

	"github.com/auditpipe/auditpipe/pkg/event"
)

// SessionEvents streams the recording of session sid from event index startIndex (events with
// "ei" >= startIndex), in order, calling yield with each. The events' Kind is event.Session and
// their SessionID is sid even when the event's JSON has none (Teleport's "print" events).
//
// Teleport answers NotFound while the recording is not uploaded. A stream that breaks is
// resumed after the last event yielded (see WithRetryTimeout). An error returned by yield ends
// the stream and is returned unchanged. On every return — end of the recording, error, yield
// error, ctx cancelled — the stream is cancelled before SessionEvents returns, so no call
// stays open on the Auth Service (leaked session streams have exhausted its memory).
func (c *Client) SessionEvents(ctx context.Context, sid string, startIndex int64, yield func(event.Event) error) error {
	if startIndex < 0 || startIndex > math.MaxInt32 {
		// The request's start_index is an int32.
		return fmt.Errorf("%w: session %s: start index %d", ErrInvalidArgument, sid, startIndex)
	}
	next := startIndex
	return c.retry(ctx, methodSessionEvents, c.retryTimeout, func() (progressed bool, err error) {
		ctx, cancel := context.WithCancel(ctx)
		// The client's receiving goroutine and the gRPC stream end with this context.
		defer cancel()
		items, errs := c.clt.StreamUnstructuredSessionEvents(ctx, sid, next)
		for {
			select {
			case item, ok := <-items:
				if !ok {
					return progressed, nil // the recording ended
				}
				ev := toEvent(event.Session, item)
				if ev.SessionID == "" {
					ev.SessionID = sid
				}
				if err := yield(ev); err != nil {
					return progressed, &stopError{err}
				}
				next, progressed = ev.Index+1, true
			case err := <-errs:
				return progressed, err
			}
		}
	})
}
