package stream_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/stream"
	"github.com/auditpipe/auditpipe/pkg/testenv"
)

func newDLQ(t testing.TB, e *env) *stream.DLQ {
	t.Helper()
	q, err := stream.NewDLQ(testCtx(t), e.js, e.opts)
	if err != nil {
		t.Fatalf("NewDLQ: %v", err)
	}
	return q
}

func seqs(entries []stream.Entry) []uint64 {
	out := make([]uint64, len(entries))
	for i, e := range entries {
		out[i] = e.Seq
	}
	return out
}

func TestDLQPutListGetDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stream.Options{})
	q := newDLQ(t, e)
	ctx := testCtx(t)
	ev := auditEvent(t, "u-1", "user.login", 10)
	letter := func(sink, reason string, origSeq uint64) stream.DeadLetter {
		return stream.DeadLetter{
			Sink: sink, Reason: reason, Attempts: 3, OriginalSubject: ev.Subject(), OriginalSeq: origSeq,
			Header: ev.Header(event.Replay{}), Body: ev.Body,
		}
	}
	for i, d := range []stream.DeadLetter{
		letter("fluentd", "http 400: bad request", 11),
		letter("fluentd", "http 413: too large\nfor in_http", 12),
		letter("datadog", "HTTP 400 from intake", 11),
		letter("lock", strings.Repeat("é", 2000), 0),
	} {
		seq, err := q.Put(ctx, d)
		if err != nil || seq != uint64(i+1) {
			t.Fatalf("Put #%d = %d, %v", i+1, seq, err)
		}
	}
	// The same delivery dead-lettered again (a crash before Term) is the same entry.
	if seq, err := q.Put(ctx, letter("fluentd", "http 400: bad request", 11)); err != nil || seq != 1 {
		t.Errorf("Put(repeat) = %d, %v; want entry 1", seq, err)
	}
	if _, err := q.Put(ctx, letter("a.b", "x", 1)); !errors.Is(err, stream.ErrInvalidOptions) {
		t.Errorf("Put(bad sink) = %v; want ErrInvalidOptions", err)
	}

	tests := []struct {
		name  string
		given stream.ListOptions
		want  []uint64
		next  uint64
	}{
		{name: "all", want: []uint64{1, 2, 3, 4}},
		{name: "one sink", given: stream.ListOptions{Sink: "fluentd"}, want: []uint64{1, 2}},
		{name: "reason, any case", given: stream.ListOptions{Reason: "http 400"}, want: []uint64{1, 3}},
		{name: "sink and reason", given: stream.ListOptions{Sink: "datadog", Reason: "400"}, want: []uint64{3}},
		{name: "first page", given: stream.ListOptions{Limit: 2}, want: []uint64{1, 2}, next: 2},
		{name: "second page", given: stream.ListOptions{Limit: 2, After: 2}, want: []uint64{3, 4}, next: 4},
		{name: "past the end", given: stream.ListOptions{After: 4}},
		{name: "no match", given: stream.ListOptions{Sink: "nobody"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := q.List(ctx, tt.given)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if got := seqs(page.Entries); !slices.Equal(got, tt.want) || page.Next != tt.next {
				t.Errorf("List = %v next %d; want %v next %d", got, page.Next, tt.want, tt.next)
			}
		})
	}
	if _, err := q.List(ctx, stream.ListOptions{Limit: 5000}); !errors.Is(err, stream.ErrInvalidOptions) {
		t.Errorf("List(limit 5000) = %v; want ErrInvalidOptions", err)
	}

	got, err := q.Get(ctx, 2)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.Sink != "fluentd" || got.Reason != "http 413: too large for in_http" || got.Attempts != 3 ||
		got.OriginalSubject != ev.Subject() || got.OriginalSeq != 12 || !bytes.Equal(got.Body, ev.Body) || got.Time.IsZero() {
		t.Errorf("Get = %+v", got)
	}
	if id := got.Header.Get(jetstream.MsgIDHeader); id != ev.MsgID("") {
		t.Errorf("original Nats-Msg-Id = %q; want %q", id, ev.MsgID(""))
	}
	for k := range got.Header {
		if strings.HasPrefix(k, "Auditpipe-Dlq-") {
			t.Errorf("original headers carry %s", k)
		}
	}
	if back, err := event.FromHeader(got.Header, got.Body); err != nil || back.ID() != ev.ID() {
		t.Errorf("original headers do not rebuild the event: %v", err)
	}
	if long, err := q.Get(ctx, 4); err != nil || len(long.Reason) > 1024 || !strings.HasPrefix(long.Reason, "éé") {
		t.Errorf("long reason = %d bytes, %v; want at most 1 KiB", len(long.Reason), err)
	}

	counts, err := q.Counts(ctx)
	if err != nil || counts["fluentd"] != 2 || counts["datadog"] != 1 || counts["lock"] != 1 {
		t.Errorf("Counts = %v, %v", counts, err)
	}

	if err := q.Delete(ctx, 2); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	for _, err := range []error{q.Delete(ctx, 2), func() error { _, err := q.Get(ctx, 2); return err }()} {
		if !errors.Is(err, stream.ErrNotFound) {
			t.Errorf("after Delete: %v; want ErrNotFound", err)
		}
	}
	if page, _ := q.List(ctx, stream.ListOptions{Sink: "fluentd"}); !slices.Equal(seqs(page.Entries), []uint64{1}) {
		t.Errorf("List after Delete = %v", seqs(page.Entries))
	}
}

// fetch returns the next message of a consumer, or nil when none comes within wait.
func fetch(t testing.TB, c jetstream.Consumer, wait time.Duration) jetstream.Msg {
	t.Helper()
	batch, err := c.Fetch(1, jetstream.FetchMaxWait(wait))
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	var got jetstream.Msg
	for m := range batch.Messages() {
		got = m
	}
	return got
}

// deadLetter is what a shipper writes for a message its sink rejected.
func deadLetter(t testing.TB, sink string, m jetstream.Msg) stream.DeadLetter {
	t.Helper()
	meta, err := m.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	return stream.DeadLetter{
		Sink: sink, Reason: "http 400", Attempts: int(meta.NumDelivered),
		OriginalSubject: m.Subject(), OriginalSeq: meta.Sequence.Stream,
		Header: m.Headers(), Body: m.Data(),
	}
}

func TestDLQRedrive(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		given       stream.RedriveOptions
		wantSinks   []string
		wantSubject string
	}{
		{name: "to the sink that gave up", wantSinks: []string{"fluentd"}, wantSubject: "teleport.redrive.fluentd.audit.user.login"},
		{name: "to another sink", given: stream.RedriveOptions{Sink: "datadog"}, wantSinks: []string{"datadog"}, wantSubject: "teleport.redrive.datadog.audit.user.login"},
		{name: "to every sink", given: stream.RedriveOptions{AllSinks: true}, wantSinks: []string{"fluentd", "datadog"}, wantSubject: "teleport.audit.user.login"},
		{name: "keeping the entry", given: stream.RedriveOptions{Keep: true}, wantSinks: []string{"fluentd"}, wantSubject: "teleport.redrive.fluentd.audit.user.login"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, stream.Options{})
			ctx := testCtx(t)
			consumers := map[string]jetstream.Consumer{}
			for _, sink := range []string{"fluentd", "datadog"} {
				c, err := stream.EnsureConsumer(ctx, e.js, stream.DefaultName, sink, stream.ConsumerOptions{})
				if err != nil {
					t.Fatal(err)
				}
				consumers[sink] = c
			}
			ev := auditEvent(t, "u-1", "user.login", 10)
			if _, err := newPublisher(t, e.js, stream.PublisherOptions{}).PublishPage(ctx, []event.Event{ev}, event.Replay{}); err != nil {
				t.Fatal(err)
			}
			// Fluentd rejects the event: dead letter, then Term. Datadog delivers it.
			q := newDLQ(t, e)
			m := fetch(t, consumers["fluentd"], 5*time.Second)
			seq, err := q.Put(ctx, deadLetter(t, "fluentd", m))
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			if err := m.Term(); err != nil {
				t.Fatal(err)
			}
			if err := fetch(t, consumers["datadog"], 5*time.Second).DoubleAck(ctx); err != nil {
				t.Fatal(err)
			}

			res, err := q.Redrive(ctx, seq, tt.given)
			if err != nil {
				t.Fatalf("Redrive: %v", err)
			}
			// Within the duplicate window of the original, and stored anyway.
			if res.Subject != tt.wantSubject || res.MsgID != "redrive:1:u-1" || res.Seq != 2 {
				t.Errorf("Redrive = %+v; want subject %s, a fresh msg id, stream seq 2", res, tt.wantSubject)
			}
			for sink, c := range consumers {
				got := fetch(t, c, 300*time.Millisecond)
				if want := slices.Contains(tt.wantSinks, sink); (got != nil) != want {
					t.Errorf("%s received the redriven event: %v; want %v", sink, got != nil, want)
					continue
				}
				if got == nil {
					continue
				}
				back, err := event.FromHeader(got.Headers(), got.Data())
				if err != nil || back.ID() != ev.ID() || !bytes.Equal(got.Data(), ev.Body) || got.Headers().Get(stream.HeaderRedriveOf) != "1" {
					t.Errorf("%s received %s %v %q (%v); want the original event", sink, got.Subject(), got.Headers(), got.Data(), err)
				}
			}
			if tt.given.Keep {
				if _, err := q.Get(ctx, seq); err != nil {
					t.Fatalf("kept entry after Redrive: %v", err)
				}
				// Redriven again: the same message, deduplicated by the stream.
				again, err := q.Redrive(ctx, seq, tt.given)
				if err != nil || !again.Duplicate || again.Seq != res.Seq || res.Duplicate {
					t.Fatalf("Redrive of a kept entry again = %+v, %v; want a duplicate of %+v", again, err, res)
				}
				return
			}
			if _, err := q.Get(ctx, seq); !errors.Is(err, stream.ErrNotFound) {
				t.Errorf("entry after Redrive: %v; want ErrNotFound", err)
			}
			if _, err := q.Redrive(ctx, seq, tt.given); !errors.Is(err, stream.ErrNotFound) {
				t.Errorf("second Redrive: %v; want ErrNotFound", err)
			}
		})
	}
}

func TestDLQLargeBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stream.Options{}, testenv.WithMaxPayload(8192))
	ctx := testCtx(t)
	c, err := stream.EnsureConsumer(ctx, e.js, stream.DefaultName, "fluentd", stream.ConsumerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	big := largeEvent(t, "big", 20_000)
	res, err := newPublisher(t, e.js, stream.PublisherOptions{}).PublishPage(ctx, []event.Event{big}, event.Replay{})
	if err != nil || res.Large != 1 {
		t.Fatalf("PublishPage = %+v, %v", res, err)
	}
	q := newDLQ(t, e)
	bodies := stream.NewBodyReader(e.js)
	dlqObjects, err := e.js.ObjectStore(ctx, stream.DefaultDLQBucket)
	if err != nil {
		t.Fatal(err)
	}

	// The shipper dead-letters the reference as it received it; the DLQ keeps the whole body.
	m := fetch(t, c, 5*time.Second)
	fromRef, err := q.Put(ctx, deadLetter(t, "fluentd", m))
	if err != nil {
		t.Fatalf("Put(reference): %v", err)
	}
	// A sink that holds the resolved body (Datadog's oversize case) dead-letters it whole.
	full, err := bodies.Resolve(ctx, m.Headers(), m.Data())
	if err != nil {
		t.Fatal(err)
	}
	inline := deadLetter(t, "datadog", m)
	inline.Header, inline.Body = big.Header(event.Replay{}), full
	fromBody, err := q.Put(ctx, inline)
	if err != nil {
		t.Fatalf("Put(body): %v", err)
	}

	page, err := q.List(ctx, stream.ListOptions{})
	if err != nil || len(page.Entries) != 2 {
		t.Fatalf("List = %+v, %v", page, err)
	}
	for _, entry := range page.Entries {
		if !strings.HasPrefix(entry.Object, stream.DefaultDLQBucket+"/") || entry.Header.Get(stream.HeaderObject) != "" {
			t.Errorf("entry %d: object %q, header %q; want the body in the DLQ bucket", entry.Seq, entry.Object, entry.Header.Get(stream.HeaderObject))
		}
		got, err := q.Get(ctx, entry.Seq)
		if err != nil || !bytes.Equal(got.Body, big.Body) || got.Object != "" {
			t.Errorf("Get(%d) = %d bytes, object %q, %v; want the whole body", entry.Seq, len(got.Body), got.Object, err)
		}
	}

	// Redrive: the body goes back to the events bucket, the DLQ object is removed.
	redriven, err := q.Redrive(ctx, fromRef, stream.RedriveOptions{})
	if err != nil {
		t.Fatalf("Redrive: %v", err)
	}
	got := fetch(t, c, 5*time.Second)
	if got == nil || got.Headers().Get(jetstream.MsgIDHeader) != redriven.MsgID {
		t.Fatalf("fluentd received %v; want the redriven event", got)
	}
	body, err := bodies.Resolve(ctx, got.Headers(), got.Data())
	if err != nil || !bytes.Equal(body, big.Body) {
		t.Fatalf("Resolve(redriven) = %d bytes, %v; want the whole body", len(body), err)
	}
	if err := q.Delete(ctx, fromBody); err != nil {
		t.Fatal(err)
	}
	for _, entry := range page.Entries {
		key := strings.TrimPrefix(entry.Object, stream.DefaultDLQBucket+"/")
		if _, err := dlqObjects.GetInfo(ctx, key); !errors.Is(err, jetstream.ErrObjectNotFound) {
			t.Errorf("object %s after its entry went: %v; want it deleted", key, err)
		}
	}
}

func TestDLQLostObject(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stream.Options{})
	q := newDLQ(t, e)
	ctx := testCtx(t)
	ev := auditEvent(t, "u-1", "exec", 0)
	h := ev.Header(event.Replay{})
	h.Set(stream.HeaderObject, stream.DefaultBucket+"/expired")
	seq, err := q.Put(ctx, stream.DeadLetter{Sink: "fluentd", Reason: "object missing", OriginalSubject: ev.Subject(), OriginalSeq: 9, Header: h, Body: []byte(`{}`)})
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	got, err := q.Get(ctx, seq)
	if err != nil || got.Header.Get(stream.HeaderObject) != stream.DefaultBucket+"/expired" {
		t.Errorf("Get = %+v, %v; want the lost reference kept", got, err)
	}
	if _, err := q.Redrive(ctx, seq, stream.RedriveOptions{}); !errors.Is(err, stream.ErrObjectMissing) {
		t.Errorf("Redrive = %v; want ErrObjectMissing", err)
	}
}
