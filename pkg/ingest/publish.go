package ingest

import (
	"context"
	"time"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/stream"
)

// publisher is what the workers publish pages with: a *stream.Publisher, or the dry run's.
type publisher interface {
	PublishPage(ctx context.Context, events []event.Event, replay event.Replay) (stream.PageResult, error)
}

// newPublisher creates or updates the stream and returns a Publisher on it; in dry-run, the
// logging stand-in, and the stream is left alone.
func (e *Engine) newPublisher(ctx context.Context) (publisher, error) {
	if e.cfg.DryRun {
		return dryPublisher{log: e.log}, nil
	}
	if err := stream.Ensure(ctx, e.js, e.cfg.Stream); err != nil {
		return nil, err
	}
	return stream.NewPublisher(ctx, e.js, stream.PublisherOptions{
		Stream: e.cfg.Stream, MaxPending: e.cfg.MaxPending, OnAck: e.m.onAck, OnRetry: e.m.onRetry,
	})
}

// deliver publishes one page under ctx (a lease's work context), tagged with replay (the
// zero Replay outside replays), returns once JetStream has acknowledged every event, then
// queues the recording of each session.upload event of an audit page (under the same replay
// id). Only then may the caller commit its cursor. It returns the events published,
// duplicates included.
func (r *run) deliver(ctx context.Context, evs []event.Event, replay event.Replay) (int, error) {
	if len(evs) == 0 {
		return 0, nil
	}
	res, err := r.pub.PublishPage(ctx, evs, replay)
	if err != nil {
		return 0, err
	}
	kind := evs[0].Kind
	r.m.duplicates.WithLabelValues(string(kind)).Add(float64(res.Duplicates))
	r.m.large.Add(float64(res.Large))
	r.events.published.Add(int64(len(evs)))
	r.events.duplicates.Add(int64(res.Duplicates))
	for _, ev := range evs {
		r.m.published.WithLabelValues(string(ev.Kind), ev.Type).Inc()
		if ev.Kind == event.Audit {
			r.delivered(ev.Time)
		}
	}
	for _, ev := range evs {
		if ev.Kind != event.Audit || ev.Type != sessionUpload {
			continue
		}
		if ev.SessionID == "" {
			r.log.Warn("session.upload event without a session id; no recording to stream", "uid", ev.UID)
			continue
		}
		if _, err := r.store.EnqueueSession(ctx, ev.SessionID, replay.ID); err != nil {
			return 0, err
		}
	}
	return res.Stored + res.Duplicates, nil
}

// counted records an event read: metrics and Status counts; kept says whether the filters
// let it through.
func (r *run) counted(ev event.Event, kept bool) {
	r.m.read.WithLabelValues(string(ev.Kind), ev.Type).Inc()
	r.events.read.Add(1)
	if !kept {
		r.m.skipped.WithLabelValues(string(ev.Kind), ev.Type).Inc()
		r.events.skipped.Add(1)
	}
}

// delivered moves the newest delivered audit event time forward.
func (e *Engine) delivered(t time.Time) {
	if t.IsZero() {
		return
	}
	ns := t.UnixNano()
	for {
		cur := e.newest.Load()
		if ns <= cur || e.newest.CompareAndSwap(cur, ns) {
			return
		}
	}
}

// lag is now minus the newest delivered audit event's time, in seconds; 0 before the first.
func (e *Engine) lag() float64 {
	ns := e.newest.Load()
	if ns == 0 {
		return 0
	}
	return max(0, e.cfg.now().Sub(time.Unix(0, ns)).Seconds())
}
