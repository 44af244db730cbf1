package stream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/auditpipe/auditpipe/pkg/event"
)

// Publisher defaults.
const (
	DefaultMaxPending   = 1024
	DefaultAckTimeout   = 10 * time.Second
	DefaultRetryInitial = 100 * time.Millisecond
	DefaultRetryMax     = 5 * time.Second
)

// PublishAPI is the part of jetstream.JetStream that a Publisher uses: async publish, the
// large-body bucket, and the connection (for the server's max payload).
type PublishAPI interface {
	PublishMsgAsync(msg *nats.Msg, opts ...jetstream.PublishOpt) (jetstream.PubAckFuture, error)
	ObjectStore(ctx context.Context, bucket string) (jetstream.ObjectStore, error)
	Conn() *nats.Conn
}

// PublisherOptions configure a Publisher. The zero value is usable.
type PublisherOptions struct {
	// Stream is the Options given to Ensure: it names the large-body bucket and its MaxAge
	// decides when an identical large body is put again (see Options.Bucket).
	Stream Options
	// MaxPending bounds the messages published and not yet acknowledged, across every
	// PublishPage call of the Publisher; DefaultMaxPending when 0. Create the JetStream handle
	// with jetstream.WithPublishAsyncMaxPending(n) for some n ≥ MaxPending, so the client's own
	// cap does not stall first (it would be retried, only slower).
	MaxPending int
	// AckTimeout is how long a PubAck may take before the message is sent again;
	// DefaultAckTimeout when 0.
	AckTimeout time.Duration
	// RetryInitial and RetryMax bound the exponential backoff between attempts at the events
	// of a page that failed transiently; DefaultRetryInitial and DefaultRetryMax when 0.
	RetryInitial time.Duration
	RetryMax     time.Duration
	// OnAck, when set, is called once per acknowledged message (a PubAck latency histogram,
	// counters per subject). It runs on the goroutine of the PublishPage call, which several
	// goroutines may make at once: it must be safe for concurrent use, and fast.
	OnAck func(Ack)
	// OnRetry, when set, is called before each backoff wait with the error of the attempt and
	// the wait: a NATS restart or a full stream shows here first. Same rules as OnAck.
	OnRetry func(err error, wait time.Duration)
}

func (o PublisherOptions) withDefaults() PublisherOptions {
	o.Stream = o.Stream.withDefaults()
	if o.MaxPending == 0 {
		o.MaxPending = DefaultMaxPending
	}
	if o.AckTimeout == 0 {
		o.AckTimeout = DefaultAckTimeout
	}
	if o.RetryInitial == 0 {
		o.RetryInitial = DefaultRetryInitial
	}
	if o.RetryMax == 0 {
		o.RetryMax = DefaultRetryMax
	}
	return o
}

// Validate reports whether NewPublisher can use o (after defaults), wrapping ErrInvalidOptions.
func (o PublisherOptions) Validate() error {
	if err := o.Stream.Validate(); err != nil {
		return err
	}
	o = o.withDefaults()
	switch {
	case o.MaxPending < 1:
		return fmt.Errorf("%w: MaxPending %d", ErrInvalidOptions, o.MaxPending)
	case o.AckTimeout < 0:
		return fmt.Errorf("%w: AckTimeout %v", ErrInvalidOptions, o.AckTimeout)
	case o.RetryInitial < 0 || o.RetryMax < o.RetryInitial:
		return fmt.Errorf("%w: RetryInitial %v, RetryMax %v", ErrInvalidOptions, o.RetryInitial, o.RetryMax)
	}
	return nil
}

// Ack describes one acknowledged message.
type Ack struct {
	Subject   string
	Sequence  uint64 // stream sequence; for a duplicate, that of the message stored first
	Duplicate bool   // JetStream had the message id already and did not store it again
	Latency   time.Duration
}

// PageResult counts what PublishPage did with a page.
type PageResult struct {
	Stored     int // messages stored
	Duplicates int // messages JetStream recognised by their id and did not store again
	Large      int // bodies put in the object store (stored as references)
	Retries    int // messages sent again after a transient failure
	// MaxAckLatency is the longest time from publish to PubAck among the page's messages.
	MaxAckLatency time.Duration
}

// Publisher publishes pages of events to the events stream, asynchronously and with a bounded
// number of unacknowledged messages, in the order ingest needs: PublishPage returns once every
// event of the page is stored, so the caller can commit its cursor.
//
// A Publisher is safe for concurrent use; MaxPending is shared by all callers. It holds no
// goroutines or resources between calls: the caller owns, and eventually closes, the
// JetStream handle and connection.
type Publisher struct {
	js    PublishAPI
	large *largeBodies
	slots chan struct{}
	o     PublisherOptions
}

// NewPublisher returns a Publisher that publishes through js. The streams and bucket must
// exist (Ensure).
func NewPublisher(ctx context.Context, js PublishAPI, o PublisherOptions) (*Publisher, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	store, err := js.ObjectStore(ctx, o.Stream.Bucket)
	if err != nil {
		return nil, fmt.Errorf("stream: open bucket %s (did Ensure run?): %w", o.Stream.Bucket, err)
	}
	return &Publisher{
		js:    js,
		large: &largeBodies{store: store, bucket: o.Stream.Bucket, refresh: o.Stream.objectRefresh()},
		slots: make(chan struct{}, o.MaxPending),
		o:     o,
	}, nil
}

// PublishPage publishes every event of a page (subject event.Subject, headers
// event.Header(replay), body event.Body) and returns when JetStream has acknowledged each
// one. replay is the zero event.Replay for the ordinary export; for an admin replay, its id
// (in every message id, so dedup keeps the deliberate repeats) and the sinks it is for (the
// header event.HeaderReplaySinks on every message, which shippers of other sinks skip). A message JetStream reports as a duplicate of one it holds counts as done (and is
// counted in PageResult.Duplicates): that is how a repeated page after a crash is dropped.
//
// An event whose headers and body exceed the server's max payload is put in the object store
// first, under its message id, and published as a reference (HeaderObject) that
// BodyReader.Resolve turns back into the body.
//
// Transient failures (no responders or timeouts while NATS restarts, a full stream refusing
// new messages, a lost PubAck) are retried with exponential backoff until ctx ends; the
// message ids make repeats harmless. Otherwise PublishPage returns a *PageError (wrapping
// ErrPublish and each failure's error) that names the events without a PubAck; the result
// still counts those that were stored. A permanent failure (ErrTooLarge, a closed connection,
// an invalid event) ends the call without waiting for ctx.
//
// Order: the first attempt at each event is sent in page order; an event sent again after a
// failure may be stored after events that follow it in the page, and concurrent calls
// interleave. Consumers must not rely on stream order between events.
func (p *Publisher) PublishPage(ctx context.Context, events []event.Event, replay event.Replay) (PageResult, error) {
	if len(events) == 0 {
		return PageResult{}, nil
	}
	pg := &page{
		p:      p,
		events: events,
		replay: replay,
		msgs:   make([]*nats.Msg, len(events)),
		errs:   make([]error, len(events)),
		acked:  make([]bool, len(events)),
		sent:   make([]bool, len(events)),
	}
	b := &backoff.ExponentialBackOff{
		InitialInterval:     p.o.RetryInitial,
		RandomizationFactor: backoff.DefaultRandomizationFactor,
		Multiplier:          2,
		MaxInterval:         p.o.RetryMax,
	}
	_, err := backoff.Retry(ctx, func() (struct{}, error) { return struct{}{}, pg.attempt(ctx) },
		backoff.WithBackOff(b), backoff.WithMaxElapsedTime(0), backoff.WithNotify(p.o.OnRetry))
	if err != nil {
		return pg.res, pg.pageError(ctx)
	}
	return pg.res, nil
}

// page is the state of one PublishPage call; only that call's goroutine touches it.
type page struct {
	p      *Publisher
	events []event.Event
	replay event.Replay
	msgs   []*nats.Msg // built on first use
	errs   []error     // the last error of each event not acknowledged yet
	acked  []bool
	sent   []bool
	res    PageResult
}

// inflight is a message published and waiting for its PubAck.
type inflight struct {
	i     int
	f     jetstream.PubAckFuture
	start time.Time
}

// outcome is the end of one publish attempt, reported by collect.
type outcome struct {
	i       int
	ack     *jetstream.PubAck
	latency time.Duration
	err     error
}

// attempt publishes every event of the page not acknowledged yet and waits for each PubAck,
// error or timeout. It returns nil when the whole page is acknowledged, a backoff.Permanent
// error when an event cannot be published at all, and another error when a retry may help.
func (pg *page) attempt(ctx context.Context) error {
	p := pg.p
	waiting := make(chan inflight, len(pg.events))
	results := make(chan outcome, len(pg.events))
	go p.collect(ctx, waiting, results)
	for i := range pg.events {
		if pg.acked[i] {
			continue
		}
		if pg.msgs[i] == nil {
			msg, large, err := p.message(ctx, pg.events[i], pg.replay)
			if err != nil {
				pg.errs[i] = err
				continue
			}
			pg.msgs[i] = msg
			if large {
				pg.res.Large++
			}
		}
		if err := p.acquire(ctx); err != nil {
			pg.errs[i] = err
			break
		}
		if pg.sent[i] {
			pg.res.Retries++
		}
		pg.sent[i] = true
		start := time.Now()
		f, err := p.js.PublishMsgAsync(pg.msgs[i])
		if err != nil {
			p.release()
			pg.errs[i] = err
			continue
		}
		waiting <- inflight{i: i, f: f, start: start}
	}
	close(waiting)
	for o := range results {
		if o.err != nil {
			pg.errs[o.i] = o.err
			continue
		}
		pg.acked[o.i], pg.errs[o.i] = true, nil
		if o.ack.Duplicate {
			pg.res.Duplicates++
		} else {
			pg.res.Stored++
		}
		pg.res.MaxAckLatency = max(pg.res.MaxAckLatency, o.latency)
		if p.o.OnAck != nil {
			p.o.OnAck(Ack{Subject: pg.msgs[o.i].Subject, Sequence: o.ack.Sequence, Duplicate: o.ack.Duplicate, Latency: o.latency})
		}
	}

	var pending int
	var last, permanent error
	for i, err := range pg.errs {
		if pg.acked[i] {
			continue
		}
		pending++
		if err != nil {
			last = err
			if !transient(err) {
				permanent = err
			}
		}
	}
	switch {
	case pending == 0:
		return nil
	case permanent != nil:
		return backoff.Permanent(permanent)
	}
	return fmt.Errorf("%d of %d events not acknowledged, last error: %w", pending, len(pg.events), last)
}

// pageError reports the events without a PubAck when PublishPage gives up.
func (pg *page) pageError(ctx context.Context) error {
	e := &PageError{Events: len(pg.events)}
	cause := context.Cause(ctx)
	for i, acked := range pg.acked {
		if acked {
			continue
		}
		f := Failure{Index: i, Err: pg.errs[i]}
		if msg := pg.msgs[i]; msg != nil {
			f.MsgID, f.Subject = msg.Header.Get(jetstream.MsgIDHeader), msg.Subject
		} else {
			f.MsgID, f.Subject = pg.events[i].MsgID(pg.replay.ID), pg.events[i].Subject()
		}
		switch {
		case f.Err == nil: // never sent: ctx ended first
			f.Err = cause
		case cause != nil && !errors.Is(f.Err, cause):
			f.Err = fmt.Errorf("%w (gave up: %w)", f.Err, cause)
		}
		e.Failed = append(e.Failed, f)
	}
	return e
}

// message builds the stream message of an event, moving its body to the object store when the
// message would exceed the server's max payload.
func (p *Publisher) message(ctx context.Context, ev event.Event, replay event.Replay) (*nats.Msg, bool, error) {
	if _, err := event.ParseKind(string(ev.Kind)); err != nil {
		return nil, false, err
	}
	msg := &nats.Msg{Subject: ev.Subject(), Header: ev.Header(replay), Data: ev.Body}
	large, err := p.large.fit(ctx, msg, p.js.Conn().MaxPayload())
	if err != nil {
		return nil, false, err
	}
	return msg, large, nil
}

func (p *Publisher) acquire(ctx context.Context) error {
	select {
	case p.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (p *Publisher) release() { <-p.slots }

// collect waits, in publish order, for each waiting message's PubAck, error, AckTimeout or the
// end of ctx; frees its slot; and reports one outcome per message. Acks arrive in publish
// order in practice, so waiting in order costs nothing; one that never comes holds the later
// slots for at most AckTimeout. It closes out when waiting is closed and drained, promptly
// after ctx ends.
func (p *Publisher) collect(ctx context.Context, waiting <-chan inflight, out chan<- outcome) {
	defer close(out)
	timer := time.NewTimer(p.o.AckTimeout)
	defer timer.Stop()
	for m := range waiting {
		timer.Reset(time.Until(m.start.Add(p.o.AckTimeout)))
		o := outcome{i: m.i}
		select {
		case ack := <-m.f.Ok():
			o.ack, o.latency = ack, time.Since(m.start)
		case err := <-m.f.Err():
			o.err = err
		case <-timer.C:
			o.err = fmt.Errorf("%w: %v", ErrAckTimeout, p.o.AckTimeout)
		case <-ctx.Done():
			o.err = context.Cause(ctx)
		}
		p.release()
		out <- o
	}
}

// JetStream API error codes that a later attempt may not get: the stream is full (DiscardNew),
// or the cluster is electing a leader or short of resources.
const (
	codeClusterNoPeers       jetstream.ErrorCode = 10005
	codeClusterNotAvailable  jetstream.ErrorCode = 10008
	codeInsufficientResource jetstream.ErrorCode = 10023
	codeStreamStoreFailed    jetstream.ErrorCode = 10077
	codeStreamOffline        jetstream.ErrorCode = 10118
)

// transient reports whether publishing again may succeed. Connection and timeout errors are
// transient; errors that no retry changes (a closed connection, an invalid or oversized
// message, a JetStream error other than the codes above) are not.
func transient(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case codeClusterNoPeers, codeClusterNotAvailable, codeInsufficientResource, codeStreamStoreFailed, codeStreamOffline:
			return true
		}
		return false
	}
	// Context errors are left transient: the client times out its own requests with them while
	// NATS is away, and backoff.Retry stops by itself once the caller's ctx ends.
	for _, permanent := range []error{
		ErrTooLarge, event.ErrInvalid,
		nats.ErrConnectionClosed, nats.ErrConnectionDraining, nats.ErrMaxPayload,
		nats.ErrBadSubject, nats.ErrHeadersNotSupported, nats.ErrInvalidMsg,
	} {
		if errors.Is(err, permanent) {
			return false
		}
	}
	return true
}
