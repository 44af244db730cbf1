package admin

import (
	"net/http"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/window"
)

// TestGetReplay proves GET /v1/replays/{id} shows progress as ingest makes it — windows done,
// events, an ETA at the pace so far — and 404 for an unknown id.
func TestGetReplay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	rp, err := e.store.CreateReplay(ctx, window.ReplaySpec{From: t0.Add(-4 * time.Hour), To: t0, WindowSize: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// Ingest finishes one window 10 minutes in, with 42 events.
	e.clock.Advance(10 * time.Minute)
	l, err := e.store.Claim(ctx, "ingest-a")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.AddReplayEvents(ctx, rp.ID, 42); err != nil {
		t.Fatal(err)
	}
	if err := l.Complete(ctx); err != nil {
		t.Fatal(err)
	}
	var got adminapi.Replay
	e.get("/v1/replays/"+rp.ID, readToken).decode(t, http.StatusOK, &got)
	now := t0.Add(10 * time.Minute)
	if got.ID != rp.ID || got.State != "active" || got.WindowsDone != 1 || got.WindowsTotal != 4 || got.Events != 42 ||
		got.Windows != (adminapi.Counts{Pending: 3, Done: 1, Total: 4}) || !got.ETA.Equal(now.Add(30*time.Minute)) {
		t.Fatalf("replay %+v; want 1 of 4 done, 42 events, ETA in 30m", got)
	}
	msg := e.get("/v1/replays/nope", readToken).wantError(t, http.StatusNotFound, adminapi.CodeNotFound)
	if msg.Message != `no replay "nope"` {
		t.Errorf("404 message %q", msg.Message)
	}
}
