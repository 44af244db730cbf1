package admin

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/window"
)

// ingestStore is a window store over the env's Redis and clock as an ingest replica has it,
// with ingest.settle-grace = grace.
func ingestStore(e *env, grace time.Duration) *window.Store {
	e.t.Helper()
	cfg := window.DefaultConfig()
	cfg.KeyPrefix = e.cfg.Redis.KeyPrefix
	cfg.SettleGrace = grace
	cfg.Clock = e.clock
	s, err := window.New(e.rdb, cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// readWindow claims a window with s, counts events for its replay and completes the pass;
// it returns the window as the store holds it after.
func readWindow(t *testing.T, s *window.Store, events int64) window.Window {
	t.Helper()
	ctx := t.Context()
	l, err := s.Claim(ctx, "ingest-a")
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	if err := s.AddReplayEvents(ctx, l.Window().ReplayID, events); err != nil {
		t.Fatal(err)
	}
	if err := l.Complete(ctx); err != nil {
		t.Fatal(err)
	}
	w, err := s.Window(ctx, l.Window().ID)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// getReplayJSON answers GET /v1/replays/{id}: decoded, and the raw body.
func (e *env) getReplayJSON(id string) (adminapi.Replay, string) {
	e.t.Helper()
	res := e.get("/v1/replays/"+id, readToken)
	var r adminapi.Replay
	res.decode(e.t, http.StatusOK, &r)
	return r, string(res.body)
}

// TestReplaySettlesAt proves a replay of a range that ends within ingest.settle-grace reports
// when its settle pass is due — the last window's end + the grace ingest runs with (7m, not
// the 10m default), exactly the window's ReadyAt — as settles_at, in GET /v1/replays/{id}
// and the list; that its ETA is that time rather than the pace of the windows read; and that
// settles_at goes once the pass is done.
func TestReplaySettlesAt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const grace = 7 * time.Minute
	ing := ingestStore(e, grace)
	rp, err := e.store.CreateReplay(t.Context(), window.ReplaySpec{From: t0.Add(-2 * time.Hour), To: t0.Add(-time.Minute),
		WindowSize: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	got, body := e.getReplayJSON(rp.ID)
	if strings.Contains(body, "settles_at") || !strings.Contains(body, `"windows_settling":0`) || !got.ETA.IsZero() {
		t.Fatalf("before any window was read: %s; want no settles_at, 0 settling, no eta", body)
	}

	// A minute in, ingest reads the newest window [t0-1h, t0-1m): its settle pass is due at
	// t0-1m + 7m.
	e.clock.Advance(time.Minute)
	last := readWindow(t, ing, 5)
	settlesAt := t0.Add(-time.Minute + grace)
	if !last.To.Equal(rp.To) || !last.Settle || last.State != window.StatePending || !last.ReadyAt.Equal(settlesAt) {
		t.Fatalf("the last window after its first pass: %+v; want pending for a settle pass at %v", last, settlesAt)
	}
	got, body = e.getReplayJSON(rp.ID)
	if !strings.Contains(body, `"settles_at":"2025-03-01T12:06:00Z"`) || !strings.Contains(body, `"windows_settling":1`) {
		t.Fatalf("after the last window's first pass: %s; want settles_at 12:06:00Z and 1 settling", body)
	}
	// The pace (1 window read in 1 minute) would say t0+2m; the settle pass says t0+6m.
	if !got.SettlesAt.Equal(last.ReadyAt) || !got.ETA.Equal(settlesAt) || got.State != "active" || got.WindowsDone != 0 ||
		got.Events != 5 || got.Windows != (adminapi.Counts{Pending: 2, Total: 2}) {
		t.Fatalf("after the last window's first pass: %+v; want settles_at = ETA = %v", got, settlesAt)
	}

	// Then [t0-2h, t0-1h), whose end is more than the grace ago: done at once. Every window
	// is read; the replay waits only for the settle pass.
	if w := readWindow(t, ing, 3); w.State != window.StateDone {
		t.Fatalf("the first window after its pass: %+v; want done", w)
	}
	got, _ = e.getReplayJSON(rp.ID)
	if !got.SettlesAt.Equal(settlesAt) || !got.ETA.Equal(settlesAt) || got.WindowsDone != 1 || got.WindowsSettling != 1 ||
		got.WindowsDone+got.WindowsSettling != got.WindowsTotal || got.Events != 8 || got.State != "active" {
		t.Fatalf("waiting for the settle pass: %+v; want 1 done, 1 settling at %v", got, settlesAt)
	}
	var list adminapi.ReplayList
	e.get("/v1/replays", readToken).decode(t, http.StatusOK, &list)
	if len(list.Replays) != 1 || !list.Replays[0].SettlesAt.Equal(settlesAt) || list.Replays[0].WindowsSettling != 1 {
		t.Fatalf("list %+v; want the replay settling at %v", list.Replays, settlesAt)
	}

	// Not claimable before it is due; once due, the pass under way still shows when it was.
	e.clock.Advance(settlesAt.Sub(e.clock.Now()) - time.Millisecond)
	if _, err := ing.Claim(t.Context(), "ingest-a"); !errors.Is(err, window.ErrNoWork) {
		t.Fatalf("claim before the settle pass is due: %v; want ErrNoWork", err)
	}
	e.clock.Advance(time.Millisecond)
	l, err := ing.Claim(t.Context(), "ingest-a")
	if err != nil || l.Window().ID != last.ID {
		t.Fatalf("claim of the settle pass: %v", err)
	}
	e.clock.Advance(time.Second)
	got, _ = e.getReplayJSON(rp.ID)
	if !got.SettlesAt.Equal(settlesAt) || !got.ETA.Equal(e.clock.Now()) || got.Windows.Leased != 1 {
		t.Fatalf("settle pass under way: %+v; want settles_at %v, ETA now", got, settlesAt)
	}
	if err := l.Complete(t.Context()); err != nil {
		t.Fatal(err)
	}
	got, body = e.getReplayJSON(rp.ID)
	if got.State != "done" || strings.Contains(body, "settles_at") || strings.Contains(body, `"eta"`) ||
		!strings.Contains(body, `"windows_settling":0`) || got.WindowsDone != 2 {
		t.Fatalf("settled: %s; want done, no settles_at, no eta", body)
	}
}

// TestReplayLongAgoNeverSettles proves a replay of a range that ended long before the grace
// has no settles_at at any point, and keeps the ETA at the pace so far.
func TestReplayLongAgoNeverSettles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ing := ingestStore(e, 7*time.Minute)
	rp, err := e.store.CreateReplay(t.Context(), window.ReplaySpec{From: t0.Add(-5 * time.Hour), To: t0.Add(-3 * time.Hour),
		WindowSize: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Minute)
	if w := readWindow(t, ing, 4); w.State != window.StateDone || w.Settle {
		t.Fatalf("window after its pass: %+v; want done with no settle pass", w)
	}
	got, body := e.getReplayJSON(rp.ID)
	if strings.Contains(body, "settles_at") || got.WindowsSettling != 0 || got.WindowsDone != 1 ||
		!got.ETA.Equal(e.clock.Now().Add(2*time.Minute)) {
		t.Fatalf("half read: %s; want no settles_at and an ETA at the pace so far", body)
	}
	readWindow(t, ing, 4)
	got, body = e.getReplayJSON(rp.ID)
	if got.State != "done" || strings.Contains(body, "settles_at") {
		t.Fatalf("read: %s; want done without settles_at", body)
	}
}

// TestCancelledReplayNeverSettles proves a cancelled replay reports no settle pass, though a
// window of it was waiting for one.
func TestCancelledReplayNeverSettles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ing := ingestStore(e, 7*time.Minute)
	rp, err := e.store.CreateReplay(t.Context(), window.ReplaySpec{From: t0.Add(-time.Hour), To: t0.Add(-time.Minute),
		WindowSize: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if w := readWindow(t, ing, 1); !w.Settle {
		t.Fatalf("window after its first pass: %+v; want a settle pass", w)
	}
	if got, _ := e.getReplayJSON(rp.ID); got.WindowsSettling != 1 {
		t.Fatalf("before the cancel: %+v; want 1 settling", got)
	}
	var got adminapi.Replay
	e.do(request{method: http.MethodDelete, path: "/v1/replays/" + rp.ID, token: adminToken}).decode(t, http.StatusOK, &got)
	if got.State != "cancelled" || !got.SettlesAt.IsZero() || got.WindowsSettling != 0 || !got.ETA.IsZero() {
		t.Fatalf("cancelled: %+v; want no settle pass and no ETA", got)
	}
	if _, body := e.getReplayJSON(rp.ID); strings.Contains(body, "settles_at") {
		t.Fatalf("cancelled: %s; want no settles_at", body)
	}
}
