package admin

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/config"
)

// TestListDLQ proves GET /v1/dlq pages through dead letters oldest first, filters by sink and
// reason, maps each entry, and refuses bad parameters.
func TestListDLQ(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var empty adminapi.DLQPage
	e.get("/v1/dlq", readToken).decode(t, http.StatusOK, &empty)
	if empty.Entries == nil || len(empty.Entries) != 0 || empty.Next != 0 {
		t.Fatalf("empty DLQ %+v", empty)
	}
	a := e.putDeadLetter("fluentd", "user.login", "u1", "HTTP 400: bad tag", 11, []byte(`{"event":"user.login"}`))
	b := e.putDeadLetter("datadog", "session.start", "u2", "item over 1 MB", 12, []byte("not json"))
	c := e.putDeadLetter("fluentd", "user.login", "u3", "HTTP 413", 13, []byte(`{"event":"user.login"}`))

	var page adminapi.DLQPage
	e.get("/v1/dlq", readToken).decode(t, http.StatusOK, &page)
	if len(page.Entries) != 3 || page.Entries[0].ID != a || page.Entries[1].ID != b || page.Entries[2].ID != c || page.Next != 0 {
		t.Fatalf("page %+v", page)
	}
	first := page.Entries[0]
	if first.Sink != "fluentd" || first.Reason != "HTTP 400: bad tag" || first.Attempts != 3 || first.OriginalSubject != "teleport.audit.user.login" ||
		first.OriginalSeq != 11 || first.EventType != "user.login" || first.EventID != "u1" || first.Time.IsZero() ||
		first.Headers["Nats-Msg-Id"] != "u1" || !json.Valid(first.Body) || first.BodyBase64 != "" {
		t.Errorf("entry %+v", first)
	}
	if got := page.Entries[1]; got.Body != nil || got.BodyBase64 != "bm90IGpzb24=" {
		t.Errorf("non-JSON entry %+v", got)
	}

	e.get("/v1/dlq?sink=fluentd&limit=1", readToken).decode(t, http.StatusOK, &page)
	if len(page.Entries) != 1 || page.Entries[0].ID != a || page.Next != a {
		t.Fatalf("first fluentd page %+v", page)
	}
	e.get("/v1/dlq?sink=fluentd&limit=1&after="+itoa(page.Next), readToken).decode(t, http.StatusOK, &page)
	if len(page.Entries) != 1 || page.Entries[0].ID != c {
		t.Fatalf("second fluentd page %+v", page)
	}
	e.get("/v1/dlq?reason=over%201%20mb", readToken).decode(t, http.StatusOK, &page)
	if len(page.Entries) != 1 || page.Entries[0].ID != b {
		t.Fatalf("reason filter %+v", page)
	}
	e.get("/v1/dlq?sink="+config.SinkLock, readToken).decode(t, http.StatusOK, &page)
	if len(page.Entries) != 0 {
		t.Fatalf("lock entries %+v", page)
	}

	for _, q := range []string{"limit=0", "limit=1001", "limit=x", "after=-1", "sink=kafka", "pages=2", "limit=1&limit=2", "reason=%zz"} {
		e.get("/v1/dlq?"+q, readToken).wantError(t, http.StatusBadRequest, adminapi.CodeBadRequest)
	}
}

// TestListDLQPageBytes proves a page stops early, with Next, rather than carry more than the
// page body limit (maxPageBody in production; 100 kB here, to keep the test quick).
func TestListDLQPageBytes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.pageBodyLimit = 100_000
	body := bytes.Repeat([]byte{0xff}, 30_000)
	var ids []uint64
	for i := range 5 {
		ids = append(ids, e.putDeadLetter("fluentd", "t", "u"+itoa(uint64(i)), "r", uint64(i+1), body))
	}
	var page adminapi.DLQPage
	e.get("/v1/dlq", readToken).decode(t, http.StatusOK, &page)
	if len(page.Entries) != 3 || page.Next != ids[2] {
		t.Fatalf("%d entries, next %d; want 3 (90 kB) and next %d", len(page.Entries), page.Next, ids[2])
	}
	var rest adminapi.DLQPage
	e.get("/v1/dlq?after="+itoa(page.Next), readToken).decode(t, http.StatusOK, &rest)
	if len(rest.Entries) != 2 || rest.Entries[0].ID != ids[3] || rest.Next != 0 {
		t.Fatalf("second page: %d entries, next %d", len(rest.Entries), rest.Next)
	}
	// One entry over the limit still makes a page of one.
	e.srv.pageBodyLimit = 1000
	e.get("/v1/dlq", readToken).decode(t, http.StatusOK, &page)
	if len(page.Entries) != 1 || page.Next != ids[0] {
		t.Fatalf("%d entries, next %d; want 1 and next %d", len(page.Entries), page.Next, ids[0])
	}
}

// TestDLQNotThere proves the DLQ routes answer 503 with a clear message while the DLQ stream
// does not exist, and work once it does.
func TestDLQNotThere(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withoutStreams)
	msg := e.get("/v1/dlq", readToken).wantError(t, http.StatusServiceUnavailable, adminapi.CodeUnavailable)
	if !contains(msg.Message, "the dead-letter stream is not there yet") {
		t.Errorf("message %q", msg.Message)
	}
	e.do(request{method: http.MethodDelete, path: "/v1/dlq/1", token: adminToken}).wantError(t, http.StatusServiceUnavailable, adminapi.CodeUnavailable)
	e.do(request{method: http.MethodPost, path: "/v1/dlq/redrive", token: adminToken, body: adminapi.RedriveRequest{All: true}}).
		wantError(t, http.StatusServiceUnavailable, adminapi.CodeUnavailable)
	if err := ensureStreams(e); err != nil {
		t.Fatal(err)
	}
	if res := e.get("/v1/dlq", readToken); res.status != http.StatusOK {
		t.Fatalf("after the streams were made: %d %s", res.status, res.body)
	}
}
