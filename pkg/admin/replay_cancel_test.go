package admin

import (
	"net/http"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/window"
)

// TestCancelReplay proves DELETE /v1/replays/{id} cancels an active replay (its windows are
// claimed no more), answers a cancelled one unchanged, refuses a done one with 409, and 404s
// an unknown one.
func TestCancelReplay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	active, err := e.store.CreateReplay(ctx, window.ReplaySpec{ID: "active", From: t0.Add(-2 * time.Hour), To: t0, WindowSize: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	var got adminapi.Replay
	e.do(request{method: http.MethodDelete, path: "/v1/replays/active", token: adminToken}).decode(t, http.StatusOK, &got)
	if got.ID != active.ID || got.State != "cancelled" || !got.FinishedAt.Equal(t0.Add(time.Minute)) || !got.ETA.IsZero() {
		t.Fatalf("cancelled %+v", got)
	}
	if _, err := e.store.Claim(ctx, "ingest-a"); err == nil {
		t.Fatal("a window of the cancelled replay was claimed")
	}
	e.clock.Advance(time.Minute)
	var again adminapi.Replay
	e.do(request{method: http.MethodDelete, path: "/v1/replays/active", token: adminToken}).decode(t, http.StatusOK, &again)
	if !again.FinishedAt.Equal(got.FinishedAt) || again.State != "cancelled" {
		t.Fatalf("second cancel %+v; want the first unchanged", again)
	}

	// A window read after its settle grace is done at once (no settle pass): the replay is done.
	if _, err := e.store.CreateReplay(ctx, window.ReplaySpec{ID: "done", From: t0.Add(-3 * time.Hour), To: t0.Add(-2 * time.Hour), WindowSize: time.Hour}); err != nil {
		t.Fatal(err)
	}
	l, err := e.store.Claim(ctx, "ingest-a")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Complete(ctx); err != nil {
		t.Fatal(err)
	}
	msg := e.do(request{method: http.MethodDelete, path: "/v1/replays/done", token: adminToken}).
		wantError(t, http.StatusConflict, adminapi.CodeConflict)
	if !contains(msg.Message, "replay done is done already") {
		t.Errorf("409 message %q", msg.Message)
	}
	e.do(request{method: http.MethodDelete, path: "/v1/replays/nope", token: adminToken}).
		wantError(t, http.StatusNotFound, adminapi.CodeNotFound)
	recs := e.auditRecords("DELETE /v1/replays/{id}")
	if len(recs) != 4 || recs[0]["outcome"] != "replay cancelled" || recs[0]["replay"] != "active" || recs[2]["status"] != float64(http.StatusConflict) {
		t.Fatalf("audit %v", recs)
	}
}
