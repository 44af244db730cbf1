package admin

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/window"
)

// TestPauseResume proves POST /v1/ingest/pause stops claims and keeps the first pause's time
// when repeated, and POST /v1/ingest/resume lets claims through again; both idempotent.
func TestPauseResume(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	if _, err := e.store.InitEpoch(ctx, t0.Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.PlanSearch(ctx, 1, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	var st adminapi.PauseState
	e.do(request{method: http.MethodPost, path: "/v1/ingest/pause", token: adminToken}).decode(t, http.StatusOK, &st)
	if !st.Paused || !st.PausedAt.Equal(t0) {
		t.Fatalf("pause %+v; want paused at %v", st, t0)
	}
	if _, err := e.store.Claim(ctx, "ingest-a"); !errors.Is(err, window.ErrPaused) {
		t.Fatalf("claim while paused: %v", err)
	}
	e.clock.Advance(time.Minute)
	e.do(request{method: http.MethodPost, path: "/v1/ingest/pause", token: adminToken}).decode(t, http.StatusOK, &st)
	if !st.Paused || !st.PausedAt.Equal(t0) {
		t.Fatalf("second pause %+v; want the first pause's time", st)
	}
	for range 2 {
		res := e.do(request{method: http.MethodPost, path: "/v1/ingest/resume", token: adminToken})
		st = adminapi.PauseState{}
		res.decode(t, http.StatusOK, &st)
		if st.Paused || !st.PausedAt.IsZero() || string(res.body) != "{\"paused\":false}\n" {
			t.Fatalf("resume %s", res.body)
		}
	}
	if _, err := e.store.Claim(ctx, "ingest-a"); err != nil {
		t.Fatalf("claim after resume: %v", err)
	}
	if recs := e.auditRecords("POST /v1/ingest/pause"); len(recs) != 2 || recs[0]["outcome"] != "ingest paused" {
		t.Fatalf("audit %v", recs)
	}
	if recs := e.auditRecords("POST /v1/ingest/resume"); len(recs) != 2 || recs[0]["outcome"] != "ingest resumed" {
		t.Fatalf("audit %v", recs)
	}
}
