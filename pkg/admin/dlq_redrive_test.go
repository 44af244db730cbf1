package admin

import (
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/stream"
)

// TestRedriveDLQ proves POST /v1/dlq/redrive publishes dead letters again on the redrive
// subject of their sink (or to_sink), where that sink's consumer — and no other — receives
// them, deletes them unless delete is false, lists failures without failing the rest, and
// redrives everything matching a filter with all.
func TestRedriveDLQ(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	consumer := func(sink string) jetstream.Consumer {
		c, err := stream.EnsureConsumer(ctx, e.js, e.cfg.NATS.Stream, sink, stream.ConsumerOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	fluentd, lock := consumer("fluentd"), consumer("lock")
	body := []byte(`{"event":"user.login","user":"alice"}`)
	a := e.putDeadLetter("fluentd", "user.login", "u1", "HTTP 400", 11, body)
	b := e.putDeadLetter("datadog", "session.start", "u2", "HTTP 400", 12, []byte(`{"event":"session.start"}`),
		func(h nats.Header) { h.Set(event.HeaderReplayID, "r1"); h.Set(event.HeaderReplaySinks, "datadog") })
	c := e.putDeadLetter("fluentd", "user.login", "u3", "HTTP 413", 13, body)

	var res adminapi.RedriveResult
	e.do(request{method: http.MethodPost, path: "/v1/dlq/redrive", token: adminToken,
		body: adminapi.RedriveRequest{IDs: []uint64{a, 999}}}).decode(t, http.StatusOK, &res)
	if len(res.Redriven) != 1 || res.Redriven[0].ID != a || res.Redriven[0].Subject != "teleport.redrive.fluentd.audit.user.login" ||
		!reflect.DeepEqual(res.Failed, []adminapi.FailedEntry{{ID: 999, Error: "no dead letter 999"}}) || res.More {
		t.Fatalf("result %+v", res)
	}
	m := e.streamMsg(res.Redriven[0].Seq)
	if m.Subject != "teleport.redrive.fluentd.audit.user.login" || string(m.Data) != string(body) ||
		m.Header.Get("Nats-Msg-Id") != "redrive:"+itoa(a)+":u1" || m.Header.Get(stream.HeaderRedriveOf) != itoa(a) ||
		m.Header.Get("Teleport-Event-Type") != "user.login" {
		t.Fatalf("redriven message %s %v %s", m.Subject, m.Header, m.Data)
	}
	// The fluentd consumer receives it; the lock consumer does not.
	batch, err := fluentd.Fetch(1, jetstream.FetchMaxWait(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for msg := range batch.Messages() {
		got++
		if msg.Subject() != "teleport.redrive.fluentd.audit.user.login" || string(msg.Data()) != string(body) {
			t.Fatalf("sink-fluentd got %s %s", msg.Subject(), msg.Data())
		}
	}
	if got != 1 || batch.Error() != nil {
		t.Fatalf("sink-fluentd fetched %d messages, %v; want the redriven one", got, batch.Error())
	}
	if info, err := lock.Info(ctx); err != nil || info.NumPending != 0 {
		t.Fatalf("sink-lock has %d pending, %v; want none", info.NumPending, err)
	}
	if _, err := e.dlq().Get(ctx, a); err == nil {
		t.Fatal("the redriven entry is still in the DLQ")
	}

	// To another sink, keeping the entry; a repeat is the same message (deduplicated). The
	// replay's sink list (datadog) is dropped: it would make the lock sink skip the event.
	keep := false
	for range 2 {
		res = adminapi.RedriveResult{}
		e.do(request{method: http.MethodPost, path: "/v1/dlq/redrive", token: adminToken,
			body: adminapi.RedriveRequest{IDs: []uint64{b}, ToSink: "lock", Delete: &keep}}).decode(t, http.StatusOK, &res)
		if len(res.Redriven) != 1 || res.Redriven[0].Subject != "teleport.redrive.lock.audit.session.start" || len(res.Failed) != 0 {
			t.Fatalf("keeping redrive %+v", res)
		}
	}
	m = e.streamMsg(res.Redriven[0].Seq)
	if m.Header.Get("Nats-Msg-Id") != "redrive:"+itoa(b)+":u2" || m.Header.Get(stream.HeaderRedriveOf) != itoa(b) ||
		m.Header.Get(event.HeaderReplayID) != "r1" || m.Header.Get(event.HeaderReplaySinks) != "" {
		t.Fatalf("kept redrive message %v", m.Header)
	}
	if info, err := lock.Info(ctx); err != nil || info.NumPending != 1 {
		t.Fatalf("sink-lock has %d pending, %v; want the one redriven message", info.NumPending, err)
	}
	if entry, err := e.dlq().Get(ctx, b); err != nil || entry.Sink != "datadog" {
		t.Fatalf("the kept entry: %+v, %v", entry, err)
	}

	// All of one sink: c (a is gone), not b.
	res = adminapi.RedriveResult{}
	e.do(request{method: http.MethodPost, path: "/v1/dlq/redrive", token: adminToken,
		body: adminapi.RedriveRequest{All: true, Sink: "fluentd"}}).decode(t, http.StatusOK, &res)
	if len(res.Redriven) != 1 || res.Redriven[0].ID != c || len(res.Failed) != 0 || res.More {
		t.Fatalf("redrive all of fluentd %+v", res)
	}
	var page adminapi.DLQPage
	e.get("/v1/dlq", readToken).decode(t, http.StatusOK, &page)
	if len(page.Entries) != 1 || page.Entries[0].ID != b {
		t.Fatalf("left in the DLQ %+v; want only %d", page.Entries, b)
	}

	for _, body := range []string{`{}`, `{"ids":[0]}`, `{"ids":[1],"all":true}`, `{"ids":[1],"to_sink":"s3"}`,
		`{"all":true,"sink":"x"}`, `{"ids":[1],"sink":"fluentd"}`, `{"ids":"1"}`, `{"ids":[1],"extra":1}`, `not json`} {
		e.do(request{method: http.MethodPost, path: "/v1/dlq/redrive", token: adminToken, body: body}).
			wantError(t, http.StatusBadRequest, adminapi.CodeBadRequest)
	}
	recs := e.auditRecords("POST /v1/dlq/redrive")
	if len(recs) < 4 || recs[0]["outcome"] != "dead letters redriven" || recs[0]["redriven"] != float64(1) || recs[0]["failed"] != float64(1) {
		t.Fatalf("audit %v", recs)
	}
}

// TestRedriveAllPages proves redriving all reads the DLQ page by page and stops at its
// maximum with More set, and that the next request takes the rest.
func TestRedriveAllPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	var ids []uint64
	for i := range 5 {
		ids = append(ids, e.putDeadLetter("datadog", "user.login", "u"+itoa(uint64(i)), "HTTP 429", uint64(i+1), []byte(`{}`)))
	}
	dlq := e.dlq()
	redriven := func(rd *redrive) []uint64 {
		var out []uint64
		for _, r := range rd.res.Redriven {
			out = append(out, r.ID)
		}
		return out
	}
	rd := newRedrive(e.srv, dlq, "", true)
	rd.max, rd.pageSize = 3, 2
	if err := rd.all(ctx, "datadog", "429"); err != nil {
		t.Fatal(err)
	}
	if got := redriven(rd); !reflect.DeepEqual(got, ids[:3]) || !rd.res.More {
		t.Fatalf("first round %v more %v; want %v and more", got, rd.res.More, ids[:3])
	}
	rd = newRedrive(e.srv, dlq, "", true)
	rd.max, rd.pageSize = 3, 2
	if err := rd.all(ctx, "datadog", "429"); err != nil {
		t.Fatal(err)
	}
	if got := redriven(rd); !reflect.DeepEqual(got, ids[3:]) || rd.res.More {
		t.Fatalf("second round %v more %v; want %v and no more", got, rd.res.More, ids[3:])
	}
}
