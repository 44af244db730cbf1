package stream_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/stream"
	"github.com/auditpipe/auditpipe/pkg/testenv"
)

// env is an embedded NATS server with auditpipe's streams, for one test.
type env struct {
	n    *testenv.NATSServer
	nc   *nats.Conn
	js   jetstream.JetStream
	opts stream.Options
}

// newEnv starts a server, connects (reconnecting quickly and forever, as services do) and
// runs Ensure with opts.
func newEnv(t testing.TB, opts stream.Options, natsOpts ...testenv.NATSOption) *env {
	t.Helper()
	n := testenv.NATS(t, natsOpts...)
	nc, err := nats.Connect(n.URL, nats.ReconnectWait(50*time.Millisecond), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	if err := stream.Ensure(testCtx(t), js, opts); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	return &env{n: n, nc: nc, js: js, opts: opts}
}

// testCtx is the test's context with a deadline well inside the test timeout.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// streamInfo returns the state and config of a stream.
func (e *env) streamInfo(t testing.TB, name string) *jetstream.StreamInfo {
	t.Helper()
	s, err := e.js.Stream(testCtx(t), name)
	if err != nil {
		t.Fatalf("stream %s: %v", name, err)
	}
	info, err := s.Info(testCtx(t))
	if err != nil {
		t.Fatalf("stream %s info: %v", name, err)
	}
	return info
}

// auditEvent is a parsed audit event whose body is padded with pad bytes.
func auditEvent(t testing.TB, uid, typ string, pad int) event.Event {
	t.Helper()
	body := fmt.Sprintf(`{"event":%q,"uid":%q,"time":"2025-01-02T03:04:05Z","cluster_name":"c","pad":%q}`,
		typ, uid, strings.Repeat("x", pad))
	ev, err := event.Parse(event.Audit, []byte(body))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return ev
}

// sessionEvent is a parsed session-recording event.
func sessionEvent(t testing.TB, sid string, ei int, uid, typ string) event.Event {
	t.Helper()
	body := fmt.Sprintf(`{"event":%q,"uid":%q,"sid":%q,"ei":%d,"time":"2025-01-02T03:04:05Z"}`, typ, uid, sid, ei)
	ev, err := event.Parse(event.Session, []byte(body))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return ev
}

// auditPage is n audit events with uids <prefix>-0 … <prefix>-(n-1).
func auditPage(t testing.TB, prefix string, n, pad int) []event.Event {
	t.Helper()
	page := make([]event.Event, n)
	for i := range page {
		page[i] = auditEvent(t, fmt.Sprintf("%s-%d", prefix, i), "user.login", pad)
	}
	return page
}

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		given   stream.Options
		wantErr bool
	}{
		{name: "zero value", given: stream.Options{}},
		{name: "unlimited age", given: stream.Options{MaxAge: -1, DuplicateWindow: 48 * time.Hour}},
		{name: "memory", given: stream.Options{Storage: jetstream.MemoryStorage}},
		{name: "dotted name", given: stream.Options{Name: "A.B"}, wantErr: true},
		{name: "same names", given: stream.Options{Name: "X", DLQ: "X"}, wantErr: true},
		{name: "too many replicas", given: stream.Options{Replicas: 7}, wantErr: true},
		{name: "negative replicas", given: stream.Options{Replicas: -1}, wantErr: true},
		{name: "window over age", given: stream.Options{MaxAge: time.Hour, DuplicateWindow: 2 * time.Hour}, wantErr: true},
		{name: "negative window", given: stream.Options{DuplicateWindow: -time.Second}, wantErr: true},
		{name: "bad storage", given: stream.Options{Storage: 9}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.given.Validate()
			if tt.wantErr != (err != nil) {
				t.Fatalf("Validate = %v; wantErr %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, stream.ErrInvalidOptions) {
				t.Fatalf("Validate = %v; want ErrInvalidOptions", err)
			}
		})
	}
}

func TestEnsureCreatesAndUpdates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stream.Options{})
	ctx := testCtx(t)

	got := e.streamInfo(t, stream.DefaultName).Config
	if want := []string{stream.SubjectAudit, stream.SubjectSession, stream.SubjectRedrive}; !slices.Equal(got.Subjects, want) {
		t.Errorf("subjects = %v; want %v", got.Subjects, want)
	}
	if got.Retention != jetstream.LimitsPolicy || got.Discard != jetstream.DiscardNew || got.Storage != jetstream.FileStorage {
		t.Errorf("retention/discard/storage = %v/%v/%v; want limits/new/file", got.Retention, got.Discard, got.Storage)
	}
	if got.MaxAge != stream.DefaultMaxAge || got.Duplicates != stream.DefaultDuplicateWindow || got.MaxBytes != -1 {
		t.Errorf("max age/dup window/max bytes = %v/%v/%d", got.MaxAge, got.Duplicates, got.MaxBytes)
	}
	dlq := e.streamInfo(t, stream.DefaultDLQName).Config
	if !slices.Equal(dlq.Subjects, []string{stream.SubjectDLQ}) || dlq.Discard != jetstream.DiscardNew || dlq.MaxAge != 0 {
		t.Errorf("DLQ config = subjects %v, discard %v, max age %v", dlq.Subjects, dlq.Discard, dlq.MaxAge)
	}
	for bucket, ttl := range map[string]time.Duration{stream.DefaultBucket: 2 * stream.DefaultMaxAge, stream.DefaultDLQBucket: 0} {
		obs, err := e.js.ObjectStore(ctx, bucket)
		if err != nil {
			t.Fatalf("bucket %s: %v", bucket, err)
		}
		status, err := obs.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if status.TTL() != ttl {
			t.Errorf("bucket %s TTL = %v; want %v", bucket, status.TTL(), ttl)
		}
	}

	// Limits change in place, and Ensure is idempotent.
	updated := stream.Options{MaxAge: 24 * time.Hour, MaxBytes: 1 << 30, DuplicateWindow: time.Hour, DLQMaxAge: 30 * 24 * time.Hour}
	for range 2 {
		if err := stream.Ensure(ctx, e.js, updated); err != nil {
			t.Fatalf("Ensure(updated): %v", err)
		}
	}
	got = e.streamInfo(t, stream.DefaultName).Config
	if got.MaxAge != 24*time.Hour || got.MaxBytes != 1<<30 || got.Duplicates != time.Hour {
		t.Errorf("after update: max age/bytes/dup = %v/%d/%v", got.MaxAge, got.MaxBytes, got.Duplicates)
	}
	if dlq := e.streamInfo(t, stream.DefaultDLQName).Config; dlq.MaxAge != 30*24*time.Hour {
		t.Errorf("DLQ max age after update = %v", dlq.MaxAge)
	}
}

func TestEnsureConflict(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		existing jetstream.StreamConfig
		wantText string
	}{
		{
			name:     "storage cannot change",
			existing: jetstream.StreamConfig{Name: stream.DefaultName, Subjects: []string{"teleport.audit.>"}, Storage: jetstream.MemoryStorage},
			wantText: "storage",
		},
		{
			name:     "retention cannot change",
			existing: jetstream.StreamConfig{Name: stream.DefaultName, Subjects: []string{"teleport.audit.>"}, Retention: jetstream.WorkQueuePolicy},
			wantText: "retention",
		},
		{
			name:     "another stream holds the subjects",
			existing: jetstream.StreamConfig{Name: "OTHER", Subjects: []string{"teleport.>"}},
			wantText: "overlap",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := testenv.NATS(t)
			js, err := jetstream.New(n.Conn(t))
			if err != nil {
				t.Fatal(err)
			}
			ctx := testCtx(t)
			if _, err := js.CreateStream(ctx, tt.existing); err != nil {
				t.Fatalf("create existing: %v", err)
			}
			err = stream.Ensure(ctx, js, stream.Options{})
			if !errors.Is(err, stream.ErrStreamConflict) {
				t.Fatalf("Ensure = %v; want ErrStreamConflict", err)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not name %q", err, tt.wantText)
			}
			if !strings.Contains(err.Error(), stream.DefaultName) {
				t.Errorf("error %q does not name the stream", err)
			}
		})
	}
}
