package window_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/window"
)

func TestPlanSearchFollowsNow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.replica()
	ctx := t.Context()
	start := t0.Add(-10 * time.Hour)

	// [s,s+4h) [s+4h,s+8h) and the tail [s+8h,s+12h), which holds now (s+10h).
	if n := searchWindows(t, s, start, 4*time.Hour); n != 3 {
		t.Fatalf("planned %d windows; want 3", n)
	}
	steps := []struct {
		name    string
		advance time.Duration
		want    int
	}{
		{"again at once", 0, 0},
		{"inside the tail", time.Hour + 59*time.Minute, 0},
		{"at the tail's end", time.Minute, 1},
		{"a day later", 24 * time.Hour, 6},
	}
	for _, st := range steps {
		e.clock.Advance(st.advance)
		n, err := s.PlanSearch(ctx, 1, 4*time.Hour)
		if err != nil || n != st.want {
			t.Fatalf("%s: PlanSearch = %d, %v; want %d", st.name, n, err, st.want)
		}
	}

	ws, err := s.EpochWindows(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 10 {
		t.Fatalf("%d windows; want 10", len(ws))
	}
	for i, w := range ws {
		from := start.Add(time.Duration(i) * 4 * time.Hour)
		if !w.From.Equal(from) || !w.To.Equal(from.Add(4*time.Hour)) || w.State != window.StatePending ||
			w.Kind != window.KindSearch || w.Epoch != 1 || w.ReplayID != "" || !w.ReadyAt.Equal(from) {
			t.Fatalf("window %d = %+v; want [%v, +4h) pending", i, w, from)
		}
	}
	ep, err := s.CurrentEpoch(ctx)
	if err != nil || !ep.PlannedUntil.Equal(start.Add(40*time.Hour)) || !e.clock.Now().Before(ep.PlannedUntil) {
		t.Fatalf("epoch = %+v, %v; want the watermark at the tail's end, after now %v", ep, err, e.clock.Now())
	}
	wantCounts(t, "planned", epochCounts(s, 1), window.Counts{Pending: 10})

	_, err = s.PlanSearch(ctx, 2, time.Hour)
	wantErr(t, "PlanSearch of a future epoch", err, window.ErrEpochChanged)
	_, err = s.PlanSearch(ctx, 1, 0)
	wantErr(t, "PlanSearch with size 0", err, window.ErrInvalid)
}

func TestPlanSearchStartInTheFuture(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.replica()
	if n := searchWindows(t, s, t0.Add(time.Hour), time.Hour); n != 0 {
		t.Fatalf("planned %d windows before the start; want 0", n)
	}
	e.clock.Advance(time.Hour)
	if n, err := s.PlanSearch(t.Context(), 1, time.Hour); n != 1 || err != nil {
		t.Fatalf("at the start: PlanSearch = %d, %v; want 1", n, err)
	}
}

// Planners in many replicas race over a long backfill: every window is created exactly once.
func TestPlanSearchRacingPlanners(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const hours = 1500 // three script batches; plus the tail
	first := e.replica()
	if _, err := first.InitEpoch(t.Context(), t0.Add(-hours*time.Hour)); err != nil {
		t.Fatal(err)
	}
	var created atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		s := e.replica()
		wg.Go(func() {
			n, err := s.PlanSearch(t.Context(), 1, time.Hour)
			if err != nil {
				t.Errorf("PlanSearch: %v", err)
			}
			created.Add(int64(n))
		})
	}
	wg.Wait()
	if created.Load() != hours+1 {
		t.Fatalf("planners created %d windows; want %d", created.Load(), hours+1)
	}
	ws, err := first.EpochWindows(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != hours+1 {
		t.Fatalf("%d windows stored; want %d", len(ws), hours+1)
	}
	for i := 1; i < len(ws); i++ {
		if !ws[i].From.Equal(ws[i-1].To) {
			t.Fatalf("gap or overlap between %s and %s", ws[i-1].ID, ws[i].ID)
		}
	}
	wantCounts(t, "planned", epochCounts(first, 1), window.Counts{Pending: hours + 1})
}

func TestEnsureExportIsIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.replica()
	ctx := t.Context()
	if _, err := s.InitEpoch(ctx, t0.Add(-72*time.Hour)); err != nil {
		t.Fatal(err)
	}
	day := t0.Add(-48 * time.Hour).Add(5 * time.Hour) // any time in the day
	chunks := []string{"chunk-a", "chunk-b", "chunk:with/odd chars"}

	var created atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		r := e.replica()
		wg.Go(func() {
			n, err := r.EnsureExport(ctx, 1, day, chunks...)
			if err != nil {
				t.Errorf("EnsureExport: %v", err)
			}
			created.Add(int64(n))
		})
	}
	wg.Wait()
	if created.Load() != 3 {
		t.Fatalf("racing EnsureExport created %d windows; want 3", created.Load())
	}

	// The day is listed again later with a chunk that appeared late.
	n, err := s.EnsureExport(ctx, 1, day, append(chunks, "chunk-late")...)
	if err != nil || n != 1 {
		t.Fatalf("EnsureExport with a late chunk = %d, %v; want 1", n, err)
	}
	// The same chunk name on another day is another window.
	if n, err := s.EnsureExport(ctx, 1, day.Add(24*time.Hour), "chunk-a"); err != nil || n != 1 {
		t.Fatalf("EnsureExport next day = %d, %v; want 1", n, err)
	}
	// A done window is not created again either.
	l := mustClaim(t, s, "a")
	if err := l.Complete(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := s.EnsureExport(ctx, 1, day.Add(24*time.Hour), "chunk-a"); err != nil || n != 0 {
		t.Fatalf("EnsureExport of a done window = %d, %v; want 0", n, err)
	}

	midnight := time.Date(2025, 1, 8, 0, 0, 0, 0, time.UTC)
	w := mustWindow(t, s, fmt.Sprintf("e1:x:2025-01-08:%s", "chunk:with/odd chars"))
	if w.Kind != window.KindExport || w.Chunk != "chunk:with/odd chars" || !w.From.Equal(midnight) ||
		!w.To.Equal(midnight.Add(24*time.Hour)) || w.Epoch != 1 {
		t.Fatalf("export window = %+v", w)
	}
	wantCounts(t, "export", epochCounts(s, 1), window.Counts{Pending: 4, Done: 1})

	_, err = s.EnsureExport(ctx, 1, day, "")
	wantErr(t, "empty chunk", err, window.ErrInvalid)
	_, err = s.EnsureExport(ctx, 7, day, "x")
	wantErr(t, "wrong epoch", err, window.ErrEpochChanged)
}
