package teleportsim

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"
)

// fastClock runs speed times faster than the wall clock, from start.
func fastClock(start time.Time, speed float64) func() time.Time {
	t0 := time.Now()
	return func() time.Time {
		return start.Add(time.Duration(float64(time.Since(t0)) * speed))
	}
}

func TestRunLive(t *testing.T) {
	liveStart := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	l := newTestLog(t, Options{Count: 500, LiveFlush: time.Second, Now: fastClock(liveStart, 20)})
	const rate = 400.0
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	began := time.Now()
	if err := l.RunLive(ctx, rate); err != nil {
		t.Fatalf("RunLive: %v", err)
	}
	elapsed := time.Since(began)
	live := l.Len() - 500
	t.Logf("RunLive at %v/s for %v appended %d events (%.0f/s)", rate, elapsed, live, float64(live)/elapsed.Seconds())
	if want := rate * elapsed.Seconds(); float64(live) < want/3 || float64(live) > want*3 {
		t.Fatalf("appended %d events, want about %.0f", live, want)
	}

	// Searchable, in order, at the live clock's times.
	end := l.opts.Now()
	got := searchAll(t, l, SearchQuery{From: liveStart, To: end, Limit: 100})
	if len(got) != live {
		t.Fatalf("search finds %d live events, want %d", len(got), live)
	}
	sameEvents(t, got, wantSearch(auditEvents(t, l), SearchQuery{From: liveStart, To: end}))

	// Exported once their chunks are sealed (LiveFlush of the fast clock has passed by now).
	time.Sleep(100 * time.Millisecond)
	sameSet(t, exportAll(t, l, liveStart, end.Add(time.Hour), false), got)

	// Live sessions: those whose upload was appended have recordings that repeat their events.
	uploads := checkRecordings(t, l, auditEvents(t, l)[500:])
	if uploads == 0 {
		t.Fatal("no live session was uploaded")
	}
	session := 0
	l.Manifest(func(e ManifestEntry) bool {
		if e.Kind == KindSession && !e.Time.Before(liveStart) {
			session++
		}
		return true
	})
	if session == 0 {
		t.Fatal("the manifest lists no live recording")
	}
}

func TestRunLiveErrors(t *testing.T) {
	l := newTestLog(t, Options{Count: 10})
	for _, rate := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		if err := l.RunLive(context.Background(), rate); !errors.Is(err, ErrBadRequest) {
			t.Fatalf("rate %v: %v", rate, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.RunLive(ctx, 10); err != nil {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestRunLiveConcurrentWithReaders(t *testing.T) {
	l := newTestLog(t, Options{Count: 300, LiveFlush: 50 * time.Millisecond, Now: fastClock(testTo, 10)})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	done := make(chan error, 2)
	go func() { done <- l.RunLive(ctx, 300) }()
	go func() { done <- l.RunLive(ctx, 300) }()
	for ctx.Err() == nil {
		now := l.opts.Now()
		searchAll(t, l, SearchQuery{From: testFrom, To: now, Limit: 37, Order: Descending})
		exportAll(t, l, testTo, now.Add(time.Hour), false)
		manifest(l)
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	sameEvents(t, searchAll(t, l, SearchQuery{From: testFrom, To: l.opts.Now(), Limit: 50}), auditEvents(t, l))
}
