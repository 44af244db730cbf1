package stream

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/auditpipe/auditpipe/pkg/event"
)

// Headers of a dead letter on the DLQ stream, beside the original message's headers. The
// original Nats-Msg-Id moves to HeaderDLQMsgID (the dead letter has a message id of its own)
// and other Nats-* control headers are dropped.
const (
	HeaderDLQSink     = "Auditpipe-Dlq-Sink"
	HeaderDLQReason   = "Auditpipe-Dlq-Reason"
	HeaderDLQAttempts = "Auditpipe-Dlq-Attempts"
	HeaderDLQSubject  = "Auditpipe-Dlq-Subject" // the original subject
	HeaderDLQSeq      = "Auditpipe-Dlq-Seq"     // the original stream sequence
	HeaderDLQMsgID    = "Auditpipe-Dlq-Msg-Id"  // the original Nats-Msg-Id
	// HeaderRedriveOf is set on a redriven message: the DLQ sequence it was redriven from.
	HeaderRedriveOf = "Auditpipe-Redrive-Of"
)

// maxReason bounds HeaderDLQReason, so a long error text cannot push a dead letter over the
// max payload.
const maxReason = 1024

// DeadLetter is a message a sink rejected or could not deliver.
type DeadLetter struct {
	Sink            string // the sink that gave up (fluentd, datadog, lock)
	Reason          string // why; newlines become spaces and it is cut to 1 KiB
	Attempts        int    // deliveries so far
	OriginalSubject string
	OriginalSeq     uint64      // sequence in the events stream; 0 when unknown
	Header          nats.Header // the original headers, Nats-Msg-Id included
	Body            []byte      // the original body: inline, or a reference (HeaderObject)
}

// Entry is a stored dead letter.
type Entry struct {
	DeadLetter
	// Seq is the entry's sequence in the DLQ stream: its id for Get, Delete and Redrive.
	Seq uint64
	// Time is when the entry was written.
	Time time.Time
	// Object is "<bucket>/<key>" when the body is in the DLQ's object store. List then leaves
	// Body as the small reference; Get returns the full body.
	Object string
}

// ListOptions select a page of dead letters.
type ListOptions struct {
	Sink   string // only this sink's entries; all when empty
	Reason string // only entries whose reason contains this, ignoring case
	After  uint64 // entries after this sequence: 0, or the Next of the previous page
	Limit  int    // at most this many entries; 100 when 0, at most 1000
}

// ListPage is a page of dead letters, oldest first.
type ListPage struct {
	Entries []Entry
	// Next is the After of the next page; 0 when the DLQ holds no more matching entries.
	Next uint64
}

// RedriveOptions choose where Redrive sends an entry.
type RedriveOptions struct {
	// Sink redrives to one sink: the event is published on RedriveSubject(Sink, …), which
	// only that sink's consumer reads. Empty means the sink that dead-lettered the entry.
	Sink string
	// AllSinks publishes the event on its original subject instead, so every sink's consumer
	// receives it again (Sink is ignored).
	AllSinks bool
	// Keep leaves the entry in the DLQ after publishing it. Its message id is the same at
	// every redrive, so a second redrive within the stream's duplicate window is dropped as
	// a duplicate (RedriveResult.Duplicate).
	Keep bool
}

// RedriveResult describes the redriven message.
type RedriveResult struct {
	Subject string
	MsgID   string // "redrive:<dlq seq>:<original msg id>"
	Seq     uint64 // its sequence in the events stream
	// Duplicate: the stream had the message id already (an earlier redrive of the entry
	// within the duplicate window), so nothing new was published.
	Duplicate bool
}

// DLQAPI is the part of jetstream.JetStream that a DLQ uses.
type DLQAPI interface {
	PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error)
	Stream(ctx context.Context, name string) (jetstream.Stream, error)
	ObjectStore(ctx context.Context, bucket string) (jetstream.ObjectStore, error)
	Conn() *nats.Conn
}

// DLQ writes, lists, deletes and redrives dead letters. It is safe for concurrent use and
// holds no resources: the caller owns js. Each method makes one attempt; the caller decides
// whether to retry (a shipper naks the original and tries again on redelivery).
//
// A dead letter's body is stored whole: a reference to the events bucket is resolved when the
// letter is written (so the letter does not expire with the events bucket), and a body over
// the max payload goes to the DLQ bucket, which Delete and Redrive clean up.
type DLQ struct {
	js     DLQAPI
	o      Options
	stream jetstream.Stream
	own    *largeBodies // the DLQ bucket
	events *largeBodies // the events bucket, for redrive
	bodies *BodyReader
}

// NewDLQ returns the DLQ of the streams that Ensure created with o.
func NewDLQ(ctx context.Context, js DLQAPI, o Options) (*DLQ, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	s, err := js.Stream(ctx, o.DLQ)
	if err != nil {
		return nil, fmt.Errorf("stream: open %s (did Ensure run?): %w", o.DLQ, err)
	}
	own, err := js.ObjectStore(ctx, o.DLQBucket)
	if err != nil {
		return nil, fmt.Errorf("stream: open bucket %s (did Ensure run?): %w", o.DLQBucket, err)
	}
	events, err := js.ObjectStore(ctx, o.Bucket)
	if err != nil {
		return nil, fmt.Errorf("stream: open bucket %s (did Ensure run?): %w", o.Bucket, err)
	}
	return &DLQ{
		js:     js,
		o:      o,
		stream: s,
		own:    &largeBodies{store: own, bucket: o.DLQBucket},
		events: &largeBodies{store: events, bucket: o.Bucket, refresh: o.objectRefresh()},
		bodies: NewBodyReader(js),
	}, nil
}

// Put writes a dead letter to dlq.<sink> and returns its sequence. The caller Terms the
// original only after Put succeeds; if it crashes in between, the original is delivered again
// and the second Put of the same sink and OriginalSeq is dropped as a duplicate (within the
// duplicate window) and returns the first entry's sequence.
//
// A body that is a reference to a lost object is kept as the reference, so the entry still
// records what was lost.
func (q *DLQ) Put(ctx context.Context, d DeadLetter) (uint64, error) {
	if err := validSink(d.Sink); err != nil {
		return 0, err
	}
	body, header := d.Body, d.Header
	if _, _, ok, _ := parseReference(header); ok {
		full, err := q.bodies.Resolve(ctx, header, body)
		switch {
		case err == nil:
			body, header = full, withoutReference(header)
		case !errors.Is(err, ErrObjectMissing) && !errors.Is(err, ErrBadReference):
			return 0, err
		}
	}
	id := "dlq:" + d.Sink + ":" + strconv.FormatUint(d.OriginalSeq, 10)
	if d.OriginalSeq == 0 {
		id = "dlq:" + d.Sink + ":" + rand.Text() // nothing to deduplicate by
	}
	msg := &nats.Msg{Subject: "dlq." + d.Sink, Header: nats.Header{}, Data: body}
	for k, v := range header {
		switch {
		case k == jetstream.MsgIDHeader:
			msg.Header[HeaderDLQMsgID] = v
		case !strings.HasPrefix(strings.ToLower(k), "nats-"):
			msg.Header[k] = v
		}
	}
	msg.Header.Set(jetstream.MsgIDHeader, id)
	msg.Header.Set(jetstream.ExpectedStreamHeader, q.o.DLQ)
	msg.Header.Set(HeaderDLQSink, d.Sink)
	msg.Header.Set(HeaderDLQReason, reason(d.Reason))
	msg.Header.Set(HeaderDLQAttempts, strconv.Itoa(d.Attempts))
	msg.Header.Set(HeaderDLQSubject, d.OriginalSubject)
	if d.OriginalSeq > 0 {
		msg.Header.Set(HeaderDLQSeq, strconv.FormatUint(d.OriginalSeq, 10))
	}
	if _, err := q.own.fit(ctx, msg, q.js.Conn().MaxPayload()); err != nil {
		return 0, err
	}
	ack, err := q.js.PublishMsg(ctx, msg)
	if err != nil {
		return 0, fmt.Errorf("%w: dead letter for %s (original %s #%d): %w", ErrPublish, d.Sink, d.OriginalSubject, d.OriginalSeq, err)
	}
	return ack.Sequence, nil
}

// reason makes an error text fit for a header: one line, at most maxReason bytes.
func reason(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
	if len(s) > maxReason {
		s = strings.ToValidUTF8(s[:maxReason], "")
	}
	return s
}

func withoutReference(h nats.Header) nats.Header {
	out := make(nats.Header, len(h))
	for k, v := range h {
		if k != HeaderObject && k != HeaderObjectSize {
			out[k] = v
		}
	}
	return out
}

// entry turns a stored dead letter back into an Entry with the original headers.
func (q *DLQ) entry(m *jetstream.RawStreamMsg) Entry {
	h := m.Header
	e := Entry{Seq: m.Sequence, Time: m.Time}
	e.Sink, e.Reason, e.OriginalSubject = h.Get(HeaderDLQSink), h.Get(HeaderDLQReason), h.Get(HeaderDLQSubject)
	e.Attempts, _ = strconv.Atoi(h.Get(HeaderDLQAttempts))
	e.OriginalSeq, _ = strconv.ParseUint(h.Get(HeaderDLQSeq), 10, 64)
	e.Body = m.Data
	if bucket, _, ok, _ := parseReference(h); ok && bucket == q.o.DLQBucket {
		e.Object = h.Get(HeaderObject)
		h = withoutReference(h)
	}
	e.Header = nats.Header{}
	for k, v := range h {
		switch k {
		case HeaderDLQSink, HeaderDLQReason, HeaderDLQAttempts, HeaderDLQSubject, HeaderDLQSeq:
		case HeaderDLQMsgID:
			e.Header[jetstream.MsgIDHeader] = v
		default:
			if !strings.HasPrefix(strings.ToLower(k), "nats-") {
				e.Header[k] = v
			}
		}
	}
	return e
}

func (q *DLQ) get(ctx context.Context, seq uint64) (*jetstream.RawStreamMsg, error) {
	m, err := q.stream.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, fmt.Errorf("%w: %s #%d", ErrNotFound, q.o.DLQ, seq)
	}
	if err != nil {
		return nil, fmt.Errorf("stream: get %s #%d: %w", q.o.DLQ, seq, err)
	}
	return m, nil
}

// Get returns the entry with sequence seq and its full body. When the body's object is gone,
// it returns the entry (with the reference as Body) and an error wrapping ErrObjectMissing.
func (q *DLQ) Get(ctx context.Context, seq uint64) (Entry, error) {
	m, err := q.get(ctx, seq)
	if err != nil {
		return Entry{}, err
	}
	e := q.entry(m)
	if e.Object == "" {
		return e, nil
	}
	body, err := q.bodies.Resolve(ctx, m.Header, m.Data)
	if err != nil {
		return e, err
	}
	e.Body, e.Object = body, ""
	return e, nil
}

// List returns a page of entries, oldest first, filtered by sink and reason. Bodies in the
// DLQ bucket are not fetched (see Entry.Object). It reads one entry per request, so a reason
// filter that matches little scans a large DLQ slowly.
func (q *DLQ) List(ctx context.Context, o ListOptions) (ListPage, error) {
	subject := SubjectDLQ
	if o.Sink != "" {
		if err := validSink(o.Sink); err != nil {
			return ListPage{}, err
		}
		subject = "dlq." + o.Sink
	}
	limit := o.Limit
	switch {
	case limit == 0:
		limit = 100
	case limit < 0 || limit > 1000:
		return ListPage{}, fmt.Errorf("%w: Limit %d: want 1 to 1000", ErrInvalidOptions, limit)
	}
	want := strings.ToLower(o.Reason)
	var page ListPage
	for seq := o.After + 1; ; {
		m, err := q.stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return page, nil
		}
		if err != nil {
			return ListPage{}, fmt.Errorf("stream: list %s from #%d: %w", q.o.DLQ, seq, err)
		}
		seq = m.Sequence + 1
		e := q.entry(m)
		if !strings.Contains(strings.ToLower(e.Reason), want) {
			continue
		}
		page.Entries = append(page.Entries, e)
		if len(page.Entries) == limit {
			page.Next = m.Sequence
			return page, nil
		}
	}
}

// Counts returns the number of entries per sink.
func (q *DLQ) Counts(ctx context.Context) (map[string]uint64, error) {
	info, err := q.stream.Info(ctx, jetstream.WithSubjectFilter(SubjectDLQ))
	if err != nil {
		return nil, fmt.Errorf("stream: info %s: %w", q.o.DLQ, err)
	}
	counts := make(map[string]uint64, len(info.State.Subjects))
	for subject, n := range info.State.Subjects {
		counts[strings.TrimPrefix(subject, "dlq.")] = n
	}
	return counts, nil
}

// Delete removes the entry with sequence seq and its object, if any.
func (q *DLQ) Delete(ctx context.Context, seq uint64) error {
	m, err := q.get(ctx, seq)
	if err != nil {
		return err
	}
	if err := q.stream.DeleteMsg(ctx, seq); err != nil {
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return fmt.Errorf("%w: %s #%d", ErrNotFound, q.o.DLQ, seq)
		}
		return fmt.Errorf("stream: delete %s #%d: %w", q.o.DLQ, seq, err)
	}
	// The entry goes first: a crash in between leaves an orphan object, never an entry without
	// its body.
	return q.own.remove(ctx, m.Header)
}

// Redrive publishes the entry's event to the events stream again and deletes the entry
// (unless o.Keep).
//
// The message keeps the original headers (except, when it goes to one sink, a replay's
// event.HeaderReplaySinks, which would make that sink skip it), with Nats-Msg-Id "redrive:<seq>:<original id>": a
// new id, so the events stream's duplicate window does not drop it as the original, yet the
// same for repeated redrives of one entry, so a retried Redrive is not stored twice. By default
// it goes to the subject teleport.redrive.<sink>.<kind>.<type> of the sink that dead-lettered
// it, which only that sink's consumer reads (see ConsumerConfig); o can name another sink or
// choose every sink (the original subject).
//
// If the entry cannot be deleted after the publish, Redrive returns the result and an error;
// redriving the entry again is harmless.
func (q *DLQ) Redrive(ctx context.Context, seq uint64, o RedriveOptions) (RedriveResult, error) {
	e, err := q.Get(ctx, seq)
	if err != nil {
		return RedriveResult{}, err
	}
	// A reference left in the original headers was lost before the letter was written; try
	// once more, as a redrive of the bare reference would only fail again.
	body, err := q.bodies.Resolve(ctx, e.Header, e.Body)
	if err != nil {
		return RedriveResult{}, fmt.Errorf("stream: redrive %s #%d: %w", q.o.DLQ, seq, err)
	}
	subject, err := EventSubject(e.OriginalSubject)
	if err != nil {
		return RedriveResult{}, fmt.Errorf("stream: redrive %s #%d: %w", q.o.DLQ, seq, err)
	}
	if !o.AllSinks {
		sink := o.Sink
		if sink == "" {
			sink = e.Sink
		}
		if subject, err = RedriveSubject(sink, subject); err != nil {
			return RedriveResult{}, err
		}
	}
	id := "redrive:" + strconv.FormatUint(seq, 10) + ":" + originalMsgID(e.Header.Get(jetstream.MsgIDHeader))
	msg := &nats.Msg{Subject: subject, Header: withoutReference(e.Header), Data: body}
	if !o.AllSinks {
		// The redrive subject names the one sink; a replay's sink list must not make that
		// sink's shipper skip the event it was sent.
		msg.Header.Del(event.HeaderReplaySinks)
	}
	msg.Header.Set(jetstream.MsgIDHeader, id)
	msg.Header.Set(jetstream.ExpectedStreamHeader, q.o.Name)
	msg.Header.Set(HeaderRedriveOf, strconv.FormatUint(seq, 10))
	if _, err := q.events.fit(ctx, msg, q.js.Conn().MaxPayload()); err != nil {
		return RedriveResult{}, err
	}
	ack, err := q.js.PublishMsg(ctx, msg)
	if err != nil {
		return RedriveResult{}, fmt.Errorf("%w: redrive %s #%d to %s: %w", ErrPublish, q.o.DLQ, seq, subject, err)
	}
	res := RedriveResult{Subject: subject, MsgID: id, Seq: ack.Sequence, Duplicate: ack.Duplicate}
	if o.Keep {
		return res, nil
	}
	if err := q.Delete(ctx, seq); err != nil && !errors.Is(err, ErrNotFound) {
		return res, fmt.Errorf("stream: redriven %s #%d as %s #%d, but not deleted: %w", q.o.DLQ, seq, q.o.Name, ack.Sequence, err)
	}
	return res, nil
}

// originalMsgID strips the redrive prefix of a message id that was redriven before, so ids
// do not grow with each round.
func originalMsgID(id string) string {
	if rest, ok := strings.CutPrefix(id, "redrive:"); ok {
		if _, orig, found := strings.Cut(rest, ":"); found {
			return orig
		}
	}
	return id
}
