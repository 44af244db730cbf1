package window_test

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/window"
)

func TestReplayWindowsAndProgress(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *window.Config) { c.SettleGrace = 10 * time.Minute })
	s := e.replica()
	ctx := t.Context()
	from := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	spec := window.ReplaySpec{
		ID: "r1", From: from, To: from.Add(60 * time.Hour), WindowSize: 24 * time.Hour,
		Types: []string{"user.login"}, Sinks: []string{"datadog"},
	}
	r, err := s.CreateReplay(ctx, spec)
	if err != nil {
		t.Fatalf("CreateReplay: %v", err)
	}
	if r.ID != "r1" || r.State != window.ReplayActive || !r.From.Equal(spec.From) || !r.To.Equal(spec.To) ||
		!slices.Equal(r.Types, spec.Types) || !slices.Equal(r.Sinks, spec.Sinks) || !r.CreatedAt.Equal(t0) ||
		r.Windows != (window.Counts{Pending: 3}) {
		t.Fatalf("replay = %+v", r)
	}
	_, err = s.CreateReplay(ctx, spec)
	wantErr(t, "same id again", err, window.ErrExists)

	ws, err := s.ReplayWindows(ctx, "r1")
	if err != nil || len(ws) != 3 {
		t.Fatalf("ReplayWindows = %d windows, %v; want 3", len(ws), err)
	}
	ends := []time.Time{from.Add(24 * time.Hour), from.Add(48 * time.Hour), from.Add(60 * time.Hour)}
	for i, w := range ws {
		if w.ReplayID != "r1" || !w.To.Equal(ends[i]) || w.Kind != window.KindSearch ||
			!slices.Equal(w.Types, spec.Types) || !slices.Equal(w.Sinks, spec.Sinks) {
			t.Fatalf("replay window %d = %+v", i, w)
		}
	}

	// No epoch exists: the replay's windows are the only work, and need no settle pass.
	for range 3 {
		l := mustClaim(t, s, "a")
		if l.Window().ReplayID != "r1" {
			t.Fatalf("claimed %+v; want a replay window", l.Window())
		}
		if r, _ := s.Replay(ctx, "r1"); r.State != window.ReplayActive {
			t.Fatalf("replay %s before its last window is done", r.State)
		}
		if err := l.Complete(ctx); err != nil {
			t.Fatal(err)
		}
	}
	r, err = s.Replay(ctx, "r1")
	if err != nil || r.State != window.ReplayDone || r.Windows != (window.Counts{Done: 3}) || !r.FinishedAt.Equal(t0) {
		t.Fatalf("finished replay = %+v, %v", r, err)
	}
	_, err = s.Claim(ctx, "a")
	wantErr(t, "claim after the replay", err, window.ErrNoWork)
}

func TestCancelReplay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.replica()
	ctx := t.Context()
	from := t0.Add(-72 * time.Hour)
	if _, err := s.CreateReplay(ctx, window.ReplaySpec{ID: "r2", From: from, To: t0, WindowSize: 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	other, err := s.CreateReplay(ctx, window.ReplaySpec{From: from, To: from.Add(time.Hour), WindowSize: time.Hour})
	if err != nil || other.ID == "" {
		t.Fatalf("replay with a made-up id = %+v, %v", other, err)
	}
	var held *window.Lease
	for held == nil || held.Window().ReplayID != "r2" {
		held = mustClaim(t, s, "a")
	}

	r, err := s.CancelReplay(ctx, "r2")
	if err != nil || r.State != window.ReplayCancelled || !r.FinishedAt.Equal(e.clock.Now()) {
		t.Fatalf("CancelReplay = %+v, %v", r, err)
	}
	if again, err := s.CancelReplay(ctx, "r2"); err != nil || !reflect.DeepEqual(again, r) {
		t.Fatalf("CancelReplay again = %+v, %v; want it unchanged", again, err)
	}
	wantErr(t, "commit after cancel", held.Commit(ctx, "x"), window.ErrCancelled)
	for {
		l, err := s.Claim(ctx, "b")
		if errors.Is(err, window.ErrNoWork) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if l.Window().ReplayID == "r2" {
			t.Fatalf("claimed %s of a cancelled replay", l.Window().ID)
		}
	}
	if r, _ := s.Replay(ctx, "r2"); r.Windows != (window.Counts{Pending: 2, Cancelled: 1}) {
		t.Fatalf("cancelled replay's windows = %+v", r.Windows)
	}
	_, err = s.CancelReplay(ctx, "missing")
	wantErr(t, "cancel a missing replay", err, window.ErrNotFound)
	_, err = s.Replay(ctx, "missing")
	wantErr(t, "read a missing replay", err, window.ErrNotFound)

	all, err := s.Replays(ctx)
	if err != nil || len(all) != 2 || all[0].ID != "r2" || all[1].ID != other.ID {
		t.Fatalf("Replays = %+v, %v", all, err)
	}
}

func TestCreateReplayRejects(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.replica()
	from := t0.Add(-time.Hour)
	tests := []struct {
		name  string
		given window.ReplaySpec
	}{
		{"from after to", window.ReplaySpec{From: t0, To: from, WindowSize: time.Minute}},
		{"empty range", window.ReplaySpec{From: t0, To: t0, WindowSize: time.Minute}},
		{"no window size", window.ReplaySpec{From: from, To: t0}},
		{"too many windows", window.ReplaySpec{From: from, To: t0, WindowSize: time.Millisecond}},
		{"id with a colon", window.ReplaySpec{ID: "a:b", From: from, To: t0, WindowSize: time.Minute}},
		{"id with a brace", window.ReplaySpec{ID: "{x}", From: from, To: t0, WindowSize: time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.CreateReplay(t.Context(), tt.given)
			wantErr(t, "CreateReplay", err, window.ErrInvalid)
		})
	}
	if all, err := s.Replays(t.Context()); err != nil || len(all) != 0 {
		t.Fatalf("rejected specs left replays: %+v, %v", all, err)
	}
}

func TestAddReplayEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.replica()
	ctx := t.Context()
	if _, err := s.CreateReplay(ctx, window.ReplaySpec{ID: "r3", From: t0.Add(-time.Hour), To: t0, WindowSize: time.Hour}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int64{20, 0, 7} {
		if err := s.AddReplayEvents(ctx, "r3", n); err != nil {
			t.Fatal(err)
		}
	}
	if r, err := s.Replay(ctx, "r3"); err != nil || r.Events != 27 {
		t.Fatalf("Replay = %+v, %v; want 27 events", r, err)
	}
	// Counting for a replay that does not exist creates nothing.
	if err := s.AddReplayEvents(ctx, "gone", 5); err != nil {
		t.Fatal(err)
	}
	_, err := s.Replay(ctx, "gone")
	wantErr(t, "read a replay only counted", err, window.ErrNotFound)
}

// TestReplaySettling proves ReplayProgress reports the windows waiting for, or in, their
// settle pass, and when the last of those passes becomes claimable — their ReadyAt exactly —
// while the replay is active, and neither once it is done or cancelled; Replay reads neither.
func TestReplaySettling(t *testing.T) {
	t.Parallel()
	const grace = 30 * time.Minute
	e := newEnv(t, func(c *window.Config) { c.SettleGrace = grace })
	s := e.replica()
	ctx := t.Context()
	read := func(what, id string, wantSettling int64, wantAt time.Time, wantCounts window.Counts) window.Replay {
		t.Helper()
		r, err := s.ReplayProgress(ctx, id)
		if err != nil {
			t.Fatalf("%s: Replay: %v", what, err)
		}
		if r.Settling != wantSettling || !r.SettlesAt.Equal(wantAt) || r.Windows != wantCounts {
			t.Fatalf("%s: settling %d at %v, windows %+v; want %d at %v, %+v", what, r.Settling, r.SettlesAt,
				r.Windows, wantSettling, wantAt, wantCounts)
		}
		return r
	}
	// Six windows of 10 minutes read at t0: the three that end less than the grace before t0
	// (at t0-20m, t0-10m and t0-1m) get a settle pass, the three before do not.
	if _, err := s.CreateReplay(ctx, window.ReplaySpec{ID: "r", From: t0.Add(-time.Hour), To: t0.Add(-time.Minute),
		WindowSize: 10 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	read("created", "r", 0, time.Time{}, window.Counts{Pending: 6})

	// The newest window is claimed first.
	l := mustClaim(t, s, "a")
	if err := l.Complete(ctx); err != nil {
		t.Fatal(err)
	}
	last := t0.Add(-time.Minute + grace)
	if w := mustWindow(t, s, l.Window().ID); !w.To.Equal(t0.Add(-time.Minute)) || !w.Settle || !w.ReadyAt.Equal(last) {
		t.Fatalf("the newest window after its first pass: %+v; want a settle pass at %v", w, last)
	}
	read("one first pass", "r", 1, last, window.Counts{Pending: 6})
	for range 5 {
		if err := mustClaim(t, s, "a").Complete(ctx); err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.Claim(ctx, "a")
	wantErr(t, "claim before the first settle pass", err, window.ErrNoWork)
	read("every first pass", "r", 3, last, window.Counts{Pending: 3, Done: 3})
	if r, err := s.Replay(ctx, "r"); err != nil || r.Settling != 0 || !r.SettlesAt.IsZero() || r.Windows != (window.Counts{Pending: 3, Done: 3}) {
		t.Fatalf("Replay = %+v, %v; want the counts only", r, err)
	}

	// A settle pass under way still counts; one released is due again from its release.
	e.clock.Set(last)
	sl := mustClaim(t, s, "a")
	if w := sl.Window(); !w.Settle || !w.ReadyAt.Equal(last) {
		t.Fatalf("claimed %+v; want the last settle pass", w)
	}
	read("a settle pass under way", "r", 3, last, window.Counts{Pending: 2, Leased: 1, Done: 3})
	e.clock.Advance(time.Minute)
	if err := sl.Release(ctx); err != nil {
		t.Fatal(err)
	}
	read("a settle pass released", "r", 3, last.Add(time.Minute), window.Counts{Pending: 3, Done: 3})
	for range 3 {
		if err := mustClaim(t, s, "a").Complete(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if r := read("settled", "r", 0, time.Time{}, window.Counts{Done: 6}); r.State != window.ReplayDone {
		t.Fatalf("settled replay %s; want done", r.State)
	}

	// A cancelled replay waits for nothing.
	now := e.clock.Now()
	if _, err := s.CreateReplay(ctx, window.ReplaySpec{ID: "c", From: now.Add(-10 * time.Minute), To: now.Add(-time.Minute),
		WindowSize: 10 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	if err := mustClaim(t, s, "a").Complete(ctx); err != nil {
		t.Fatal(err)
	}
	read("c read once", "c", 1, now.Add(-time.Minute+grace), window.Counts{Pending: 1})
	c, err := s.CancelReplay(ctx, "c")
	if err != nil || c.State != window.ReplayCancelled || c.Settling != 0 || !c.SettlesAt.IsZero() {
		t.Fatalf("cancelled replay %+v, %v; want no settle pass", c, err)
	}
	read("cancelled", "c", 0, time.Time{}, window.Counts{Pending: 1})
}
