package stream_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/stream"
	"github.com/auditpipe/auditpipe/pkg/testenv"
)

func newPublisher(t testing.TB, js stream.PublishAPI, o stream.PublisherOptions) *stream.Publisher {
	t.Helper()
	p, err := stream.NewPublisher(testCtx(t), js, o)
	if err != nil {
		t.Fatalf("NewPublisher: %v", err)
	}
	return p
}

func TestPublishPageDeduplication(t *testing.T) {
	t.Parallel()
	page := auditPage(t, "u", 50, 100)
	loginUID := auditEvent(t, "shared-uid", "session.start", 0)
	recorded := sessionEvent(t, "s-1", 0, "shared-uid", "session.start")
	print := sessionEvent(t, "s-1", 1, "", "print")
	tests := []struct {
		name      string
		first     []event.Event
		second    []event.Event
		replay    event.Replay // of the second page
		want      stream.PageResult
		wantInSeq uint64 // messages in the stream after both pages
	}{
		{
			name: "same page again is all duplicates", first: page, second: page,
			want: stream.PageResult{Duplicates: 50}, wantInSeq: 50,
		},
		{
			name: "replay id makes new messages", first: page, second: page, replay: event.Replay{ID: "r-1"},
			want: stream.PageResult{Stored: 50}, wantInSeq: 100,
		},
		{
			name: "session copy of an audit event is kept", first: []event.Event{loginUID}, second: []event.Event{recorded, print},
			want: stream.PageResult{Stored: 2}, wantInSeq: 3,
		},
		{
			name: "repeated event inside one page is stored once", first: nil, second: []event.Event{page[0], page[1], page[0]},
			want: stream.PageResult{Stored: 2, Duplicates: 1}, wantInSeq: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, stream.Options{})
			var acks atomic.Int64
			p := newPublisher(t, e.js, stream.PublisherOptions{OnAck: func(a stream.Ack) {
				if a.Latency <= 0 || a.Sequence == 0 || !strings.HasPrefix(a.Subject, "teleport.") {
					t.Errorf("OnAck(%+v): want a subject, a sequence and a latency", a)
				}
				acks.Add(1)
			}})
			ctx := testCtx(t)
			if _, err := p.PublishPage(ctx, tt.first, event.Replay{}); err != nil {
				t.Fatalf("first page: %v", err)
			}
			got, err := p.PublishPage(ctx, tt.second, tt.replay)
			if err != nil {
				t.Fatalf("second page: %v", err)
			}
			if got.Stored != tt.want.Stored || got.Duplicates != tt.want.Duplicates || got.Large != 0 || got.Retries != 0 {
				t.Errorf("PublishPage = %+v; want %+v", got, tt.want)
			}
			if got.MaxAckLatency <= 0 {
				t.Errorf("MaxAckLatency = %v", got.MaxAckLatency)
			}
			if n := e.streamInfo(t, stream.DefaultName).State.Msgs; n != tt.wantInSeq {
				t.Errorf("stream holds %d messages; want %d", n, tt.wantInSeq)
			}
			if want := int64(len(tt.first) + len(tt.second)); acks.Load() != want {
				t.Errorf("OnAck called %d times; want %d", acks.Load(), want)
			}
		})
	}
}

func TestPublishPageMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stream.Options{})
	p := newPublisher(t, e.js, stream.PublisherOptions{})
	ctx := testCtx(t)
	ev := auditEvent(t, "u-1", "user.login", 10)
	if _, err := p.PublishPage(ctx, []event.Event{ev}, event.Replay{ID: "r-7", Sinks: []string{"datadog", "lock"}}); err != nil {
		t.Fatal(err)
	}
	s, err := e.js.Stream(ctx, stream.DefaultName)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "teleport.audit.user.login" || !bytes.Equal(m.Data, ev.Body) {
		t.Errorf("stored %s %q; want the event's subject and body unchanged", m.Subject, m.Data)
	}
	back, err := event.FromHeader(m.Header, m.Data)
	if err != nil || back.ID() != ev.ID() || m.Header.Get(jetstream.MsgIDHeader) != ev.MsgID("r-7") {
		t.Errorf("headers %v do not carry the envelope (%v)", m.Header, err)
	}
	if got := m.Header.Get(event.HeaderReplaySinks); got != "datadog,lock" {
		t.Errorf("%s = %q; want the replay's sinks", event.HeaderReplaySinks, got)
	}
	if event.ForSink(m.Header, "fluentd") || !event.ForSink(m.Header, "datadog") {
		t.Errorf("stored headers %v: the replay is for datadog and lock only", m.Header)
	}
}

// largeEvent returns an event whose message (headers and body) is exactly size bytes.
func largeEvent(t testing.TB, uid string, size int) event.Event {
	t.Helper()
	ev := auditEvent(t, uid, "cert.create", 0)
	msg := &nats.Msg{Subject: ev.Subject(), Header: ev.Header(event.Replay{}), Data: ev.Body}
	overhead := msg.Size() - len(msg.Subject)
	return auditEvent(t, uid, "cert.create", size-overhead)
}

func TestPublishPageLargeEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		maxPayload int32 // 0: the server's default, 1 MB
		size       int   // of the event's message
		wantLarge  bool
	}{
		{name: "over 1 MB", size: 1<<20 + 300_000, wantLarge: true},
		{name: "just over a small max payload", maxPayload: 8192, size: 8193, wantLarge: true},
		{name: "exactly a small max payload", maxPayload: 8192, size: 8192},
		{name: "many chunks of a small max payload", maxPayload: 8192, size: 100_000, wantLarge: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var natsOpts []testenv.NATSOption
			if tt.maxPayload > 0 {
				natsOpts = append(natsOpts, testenv.WithMaxPayload(tt.maxPayload))
			}
			e := newEnv(t, stream.Options{}, natsOpts...)
			p := newPublisher(t, e.js, stream.PublisherOptions{})
			ctx := testCtx(t)
			big := largeEvent(t, "big", tt.size)
			page := []event.Event{auditEvent(t, "small-1", "exec", 10), big, auditEvent(t, "small-2", "exec", 10)}
			res, err := p.PublishPage(ctx, page, event.Replay{})
			if err != nil {
				t.Fatalf("PublishPage: %v", err)
			}
			if res.Stored != 3 || (res.Large == 1) != tt.wantLarge {
				t.Fatalf("PublishPage = %+v; want 3 stored, large %v", res, tt.wantLarge)
			}

			s, err := e.js.Stream(ctx, stream.DefaultName)
			if err != nil {
				t.Fatal(err)
			}
			m, err := s.GetMsg(ctx, 2)
			if err != nil {
				t.Fatal(err)
			}
			if ref := m.Header.Get(stream.HeaderObject); (ref != "") != tt.wantLarge {
				t.Fatalf("%s = %q; want a reference: %v", stream.HeaderObject, ref, tt.wantLarge)
			}
			if got := m.Header.Get(jetstream.MsgIDHeader); got != big.MsgID("") {
				t.Errorf("Nats-Msg-Id = %q; the reference keeps the event's headers", got)
			}
			body, err := stream.NewBodyReader(e.js).Resolve(ctx, m.Header, m.Data)
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if !bytes.Equal(body, big.Body) {
				t.Fatalf("Resolve returned %d bytes; want the %d-byte body", len(body), len(big.Body))
			}

			// The same page again: duplicates, and the object is not written twice.
			if !tt.wantLarge {
				return
			}
			obs, err := e.js.ObjectStore(ctx, stream.DefaultBucket)
			if err != nil {
				t.Fatal(err)
			}
			before, err := obs.GetInfo(ctx, big.MsgID(""))
			if err != nil {
				t.Fatal(err)
			}
			res, err = p.PublishPage(ctx, page, event.Replay{})
			if err != nil || res.Duplicates != 3 {
				t.Fatalf("again: %+v, %v; want 3 duplicates", res, err)
			}
			after, err := obs.GetInfo(ctx, big.MsgID(""))
			if err != nil {
				t.Fatal(err)
			}
			if before.NUID != after.NUID {
				t.Errorf("identical object put again (nuid %s → %s)", before.NUID, after.NUID)
			}
		})
	}
}

func TestPublishPageAcrossRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stream.Options{})
	var notified atomic.Int64
	p := newPublisher(t, e.js, stream.PublisherOptions{
		MaxPending: 256,
		AckTimeout: time.Second,
		RetryMax:   500 * time.Millisecond,
		OnRetry:    func(error, time.Duration) { notified.Add(1) },
	})
	ctx := testCtx(t)
	const pages, perPage = 24, 250
	restartAt := map[int]bool{3: true, 10: true, 17: true}
	restart := make(chan struct{})
	done := make(chan error, 1)
	var acked, retries atomic.Int64
	go func() {
		defer close(restart)
		for i := range pages {
			if restartAt[i] {
				restart <- struct{}{} // the restart runs while this page is published
			}
			res, err := p.PublishPage(ctx, auditPage(t, fmt.Sprintf("p%d", i), perPage, 1024), event.Replay{})
			if err != nil {
				done <- err
				return
			}
			acked.Add(int64(res.Stored + res.Duplicates))
			retries.Add(int64(res.Retries))
		}
		done <- nil
	}()
	outage := 0
	for range restart {
		if outage == 1 { // down for longer than AckTimeout: pending acks are lost, then resent
			e.n.Shutdown()
			time.Sleep(1500 * time.Millisecond)
		}
		e.n.Restart()
		outage++
	}
	if err := <-done; err != nil {
		t.Fatalf("PublishPage across restarts: %v", err)
	}
	if acked.Load() != pages*perPage {
		t.Errorf("acked %d; want %d", acked.Load(), pages*perPage)
	}
	if n := e.streamInfo(t, stream.DefaultName).State.Msgs; n != pages*perPage {
		t.Errorf("stream holds %d messages; want %d, each once", n, pages*perPage)
	}
	t.Logf("messages sent again: %d, backoff waits: %d", retries.Load(), notified.Load())
}

func TestPublishPageWaitsForTheStream(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stream.Options{})
	var notified atomic.Int64
	p := newPublisher(t, e.js, stream.PublisherOptions{OnRetry: func(err error, _ time.Duration) {
		if !errors.Is(err, jetstream.ErrNoStreamResponse) {
			t.Errorf("OnRetry(%v); want no responders", err)
		}
		notified.Add(1)
	}})
	ctx := testCtx(t)
	if err := e.js.DeleteStream(ctx, stream.DefaultName); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	var res stream.PageResult
	go func() {
		var err error
		res, err = p.PublishPage(ctx, auditPage(t, "u", 100, 10), event.Replay{})
		done <- err
	}()
	// No stream: every publish of the first attempt finds no responders. Once that attempt
	// has failed (its backoff wait notified), the next sends all 100 again.
	for deadline := time.Now().Add(30 * time.Second); notified.Load() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no backoff wait within 30s of publishing to no stream")
		}
	}
	if err := stream.Ensure(ctx, e.js, stream.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("PublishPage: %v", err)
	}
	if res.Stored != 100 || res.Retries < 100 || notified.Load() == 0 {
		t.Errorf("result %+v after %d backoff waits; want 100 stored after retries", res, notified.Load())
	}
}

// pendingJS records how many PubAcks were outstanding at each publish.
type pendingJS struct {
	jetstream.JetStream
	mu      sync.Mutex
	maxSeen int
}

func (j *pendingJS) PublishMsgAsync(m *nats.Msg, opts ...jetstream.PublishOpt) (jetstream.PubAckFuture, error) {
	j.mu.Lock()
	j.maxSeen = max(j.maxSeen, j.PublishAsyncPending()+1)
	j.mu.Unlock()
	return j.JetStream.PublishMsgAsync(m, opts...)
}

func TestPublishPageBoundsPendingAcks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stream.Options{})
	const maxPending = 8
	js := &pendingJS{JetStream: e.js}
	p := newPublisher(t, js, stream.PublisherOptions{MaxPending: maxPending})
	ctx := testCtx(t)
	var wg sync.WaitGroup
	for i := range 4 { // concurrent pages share the bound
		wg.Go(func() {
			if _, err := p.PublishPage(ctx, auditPage(t, fmt.Sprintf("w%d", i), 300, 512), event.Replay{}); err != nil {
				t.Errorf("PublishPage: %v", err)
			}
		})
	}
	wg.Wait()
	if js.maxSeen > maxPending || js.maxSeen < 2 {
		t.Errorf("at most %d PubAcks outstanding; want 2..%d", js.maxSeen, maxPending)
	}
}

func TestPublishPageGivesUpWithCtx(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stream.Options{})
	p := newPublisher(t, e.js, stream.PublisherOptions{})
	// Without the stream, publishes get no responders: transient, so retried until ctx ends.
	if err := e.js.DeleteStream(testCtx(t), stream.DefaultName); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
	defer cancel()
	page := auditPage(t, "u", 5, 10)
	res, err := p.PublishPage(ctx, page, event.Replay{})
	var pageErr *stream.PageError
	if !errors.As(err, &pageErr) || !errors.Is(err, stream.ErrPublish) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("PublishPage = %v; want a PageError wrapping ErrPublish and the deadline", err)
	}
	if len(pageErr.Failed) != 5 || pageErr.Failed[2].Index != 2 || pageErr.Failed[2].MsgID != "u-2" || res.Stored != 0 {
		t.Errorf("failed = %+v, result %+v; want all 5 named", pageErr.Failed, res)
	}
	if !strings.Contains(err.Error(), `msg id "u-0"`) {
		t.Errorf("error %q does not name the first event", err)
	}
}

func TestPublishPagePermanentErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stream.Options{}, testenv.WithMaxPayload(1024))
	p := newPublisher(t, e.js, stream.PublisherOptions{})
	hugeType := auditEvent(t, "u-1", strings.Repeat("t", 2000), 0) // headers alone over 1 KiB
	noKind := auditEvent(t, "u-2", "exec", 0)
	noKind.Kind = ""
	tests := []struct {
		name  string
		given event.Event
		want  error
	}{
		{"headers over the max payload", hugeType, stream.ErrTooLarge},
		{"event without a kind", noKind, event.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			page := []event.Event{auditEvent(t, "ok-"+tt.name, "exec", 0), tt.given}
			res, err := p.PublishPage(testCtx(t), page, event.Replay{})
			if !errors.Is(err, tt.want) || !errors.Is(err, stream.ErrPublish) {
				t.Fatalf("PublishPage = %v; want %v", err, tt.want)
			}
			if res.Stored != 1 {
				t.Errorf("result %+v; the valid event is still stored", res)
			}
			if time.Since(start) > 5*time.Second {
				t.Errorf("a permanent error took %v; it must not be retried", time.Since(start))
			}
		})
	}
}

func TestPublisherOptionsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		given   stream.PublisherOptions
		wantErr bool
	}{
		{name: "zero value", given: stream.PublisherOptions{}},
		{name: "negative pending", given: stream.PublisherOptions{MaxPending: -1}, wantErr: true},
		{name: "max below initial", given: stream.PublisherOptions{RetryInitial: time.Second, RetryMax: time.Millisecond}, wantErr: true},
		{name: "bad stream options", given: stream.PublisherOptions{Stream: stream.Options{Replicas: 9}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.given.Validate(); tt.wantErr != errors.Is(err, stream.ErrInvalidOptions) {
				t.Fatalf("Validate = %v; wantErr %v", err, tt.wantErr)
			}
		})
	}
}

// BenchmarkPublishPage measures events/s into JetStream (file storage, one embedded server):
// 1 KiB events in pages of 500, one page at a time as one ingest worker publishes.
func BenchmarkPublishPage(b *testing.B) {
	e := newEnv(b, stream.Options{})
	p := newPublisher(b, e.js, stream.PublisherOptions{})
	ctx := testCtx(b)
	const perPage = 500
	pad := 1024 - len(auditEvent(b, "b0-0", "user.login", 0).Body) // 1 KiB bodies
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		page := auditPage(b, fmt.Sprintf("b%d", i), perPage, pad)
		b.StartTimer()
		res, err := p.PublishPage(ctx, page, event.Replay{})
		if err != nil || res.Stored != perPage {
			b.Fatalf("PublishPage = %+v, %v", res, err)
		}
	}
	b.ReportMetric(float64(b.N*perPage)/b.Elapsed().Seconds(), "events/s")
}
