package admin

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/replicas"
	"github.com/auditpipe/auditpipe/pkg/stream"
	"github.com/auditpipe/auditpipe/pkg/window"
)

// TestStatus proves GET /v1/status reports the state it is built from: the epoch, its mode,
// windows and plan, session jobs in progress and missing, the pause, the stream, the sinks'
// consumers (and no other), the DLQ by sink, replays by state, the live replicas, and the
// newest event and lag across ingest replicas.
func TestStatus(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	s := e.store

	start := t0.Add(-72 * time.Hour)
	if _, err := s.InitEpoch(ctx, start); err != nil {
		t.Fatal(err)
	}
	planned, err := s.PlanSearch(ctx, 1, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(ctx, "ingest-a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordMode(ctx, 1, "search"); err != nil {
		t.Fatal(err)
	}
	for _, sid := range []string{"s1", "s2", "s3"} {
		if _, err := s.EnqueueSession(ctx, sid, ""); err != nil {
			t.Fatal(err)
		}
	}
	missing, err := s.ClaimSession(ctx, "ingest-a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := missing.Retry(ctx, "recording not found"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimSession(ctx, "ingest-a"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := s.CreateReplay(ctx, window.ReplaySpec{From: start, To: t0, WindowSize: time.Hour}); err != nil {
			t.Fatal(err)
		}
	}
	rps, err := s.Replays(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CancelReplay(ctx, rps[0].ID); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	if err := s.Pause(ctx); err != nil {
		t.Fatal(err)
	}

	e.putDeadLetter("fluentd", "user.login", "u1", "HTTP 400", 1, []byte(`{}`))
	e.putDeadLetter("fluentd", "user.login", "u2", "HTTP 400", 2, []byte(`{}`))
	e.putDeadLetter("datadog", "session.start", "u3", "too large", 3, []byte(`{}`))
	for _, uid := range []string{"e1", "e2", "e3"} {
		e.publish("user.login", uid)
	}
	for _, sink := range []string{"fluentd", "datadog"} {
		if _, err := stream.EnsureConsumer(ctx, e.js, e.cfg.NATS.Stream, sink, stream.ConsumerOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.js.CreateOrUpdateConsumer(ctx, e.cfg.NATS.Stream, jetstream.ConsumerConfig{Durable: "audit-tap"}); err != nil {
		t.Fatal(err)
	}

	beat := func(service, id string, status any) {
		b, err := json.Marshal(status)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.registry.Beat(ctx, replicas.Replica{Service: service, ID: id, Version: "v1", Started: t0, Status: b}, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	beat(replicas.ServiceIngest, "ingest-a", adminapi.IngestMember{Mode: "search", Running: true, NewestEvent: t0.Add(-90 * time.Second)})
	beat(replicas.ServiceIngest, "ingest-b", adminapi.IngestMember{Mode: "search", Running: true, NewestEvent: t0.Add(-20 * time.Second)})
	beat(replicas.ServiceShipper, "shipper-a", adminapi.ShipperMember{Sinks: []string{"fluentd", "datadog"}})

	var st adminapi.Status
	e.get("/v1/status", readToken).decode(t, http.StatusOK, &st)

	now := t0.Add(time.Minute)
	wantIngest := adminapi.IngestStatus{
		Mode: "search", Epoch: 1, StartTime: start, Paused: true, PausedAt: now,
		Windows:  adminapi.Counts{Pending: int64(planned) - 1, Leased: 1, Total: int64(planned)},
		Sessions: adminapi.Counts{Pending: 2, Leased: 1, Total: 3}, SessionsInProgress: 1, SessionsMissing: 1,
		PlannedUntil: st.Ingest.PlannedUntil, Newest: t0.Add(-20 * time.Second), LagSeconds: 80,
	}
	if !reflect.DeepEqual(st.Ingest, wantIngest) {
		t.Errorf("ingest\n got %+v\nwant %+v", st.Ingest, wantIngest)
	}
	if planned < 3 || !st.Ingest.PlannedUntil.After(t0) {
		t.Errorf("planned %d windows up to %v; want the range to now", planned, st.Ingest.PlannedUntil)
	}
	if !st.Time.Equal(now) {
		t.Errorf("time %v; want %v", st.Time, now)
	}
	if st.Stream.Name != "TELEPORT_EVENTS" || st.Stream.Messages != 3 || st.Stream.FirstSeq != 1 || st.Stream.LastSeq != 3 ||
		st.Stream.Bytes == 0 || st.Stream.LastTime.IsZero() || st.Stream.Error != "" {
		t.Errorf("stream %+v", st.Stream)
	}
	if len(st.Consumers) != 2 || st.Consumers[0].Name != "sink-datadog" || st.Consumers[0].Sink != "datadog" ||
		st.Consumers[1].Name != "sink-fluentd" || st.Consumers[1].Pending != 3 || st.Consumers[1].Delivered != 0 {
		t.Errorf("consumers %+v; want sink-datadog and sink-fluentd with 3 pending", st.Consumers)
	}
	wantDLQ := adminapi.DLQStatus{Total: 3, BySink: map[string]uint64{"fluentd": 2, "datadog": 1}}
	if !reflect.DeepEqual(st.DLQ, wantDLQ) {
		t.Errorf("dlq %+v; want %+v", st.DLQ, wantDLQ)
	}
	if st.Replays != (adminapi.ReplaySummary{Active: 1, Cancelled: 1}) {
		t.Errorf("replays %+v", st.Replays)
	}
	if len(st.Replicas) != 3 || len(st.Replicas["ingest"]) != 2 || len(st.Replicas["shipper"]) != 1 || len(st.Replicas["admin"]) != 0 {
		t.Fatalf("replicas %+v", st.Replicas)
	}
	if m := st.Replicas["ingest"][0]; m.ID != "ingest-a" || m.Version != "v1" || !m.Started.Equal(t0) || m.Seen.IsZero() {
		t.Errorf("ingest member %+v", m)
	}
	var sm adminapi.ShipperMember
	if err := json.Unmarshal(st.Replicas["shipper"][0].Status, &sm); err != nil || !reflect.DeepEqual(sm.Sinks, []string{"fluentd", "datadog"}) {
		t.Errorf("shipper member status %s: %v", st.Replicas["shipper"][0].Status, err)
	}
}

// TestStatusBeforeAnything proves the status of a pipeline that never ran — no epoch, no
// streams — answers 200 with epoch 0 and says what could not be read, and that a Redis that
// does not answer is 503.
func TestStatusBeforeAnything(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withoutStreams, withConfig(func(c *config.Config) { c.NATS.Stream = "" }))
	var st adminapi.Status
	e.get("/v1/status", readToken).decode(t, http.StatusOK, &st)
	if st.Ingest.Epoch != 0 || st.Ingest.Mode != "" || st.Ingest.Windows != (adminapi.Counts{}) || !st.Ingest.StartTime.IsZero() ||
		st.Ingest.LagSeconds != 0 || !st.Ingest.Newest.IsZero() || st.Ingest.Paused {
		t.Errorf("ingest %+v", st.Ingest)
	}
	if st.Stream.Name != stream.DefaultName || st.Stream.Error == "" {
		t.Errorf("stream %+v; want the default name and an error", st.Stream)
	}
	if st.Consumers == nil || len(st.Consumers) != 0 || st.DLQ.Error == "" || st.DLQ.BySink == nil {
		t.Errorf("consumers %v, dlq %+v", st.Consumers, st.DLQ)
	}
	if err := e.rdb.Close(); err != nil {
		t.Fatal(err)
	}
	e.get("/v1/status", readToken).wantError(t, http.StatusServiceUnavailable, adminapi.CodeUnavailable)
}

// TestNewestEvent proves the newest event is the latest any ingest member reports, skipping
// members whose status is missing or not an IngestMember.
func TestNewestEvent(t *testing.T) {
	t.Parallel()
	at := func(d time.Duration) json.RawMessage {
		b, _ := json.Marshal(adminapi.IngestMember{NewestEvent: t0.Add(d)})
		return b
	}
	got := newestEvent([]adminapi.Member{{Status: at(-time.Hour)}, {}, {Status: json.RawMessage(`"x"`)}, {Status: at(-time.Minute)}})
	if !got.Equal(t0.Add(-time.Minute)) {
		t.Fatalf("newest %v", got)
	}
	if got := newestEvent(nil); !got.IsZero() {
		t.Fatalf("newest of none %v", got)
	}
}
