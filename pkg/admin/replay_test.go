package admin

import (
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/window"
)

// TestReplayWindowSize proves the configured window size is kept while the range makes at
// most 10,000 windows, and enlarged (to whole milliseconds) past that.
func TestReplayWindowSize(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	tests := []struct {
		name       string
		span       time.Duration
		configured time.Duration
		want       time.Duration
	}{
		{"3 days of 1 day", 3 * day, day, day},
		{"exactly the limit", 10_000 * time.Minute, time.Minute, time.Minute},
		{"one over", 10_001 * time.Minute, time.Minute, 60_006 * time.Millisecond},
		{"rounded up to a millisecond", 10_000*time.Minute + time.Millisecond, time.Minute, 60_001 * time.Millisecond},
		{"50 years of 1 hour", 50 * 365 * day, time.Hour, 157_680 * time.Second},
		{"sub-millisecond config", time.Second, 0, time.Millisecond},
		{"tiny range", time.Millisecond, day, day},
	}
	for _, tt := range tests {
		got := replayWindowSize(t0, t0.Add(tt.span), tt.configured)
		if got != tt.want {
			t.Errorf("%s: %v; want %v", tt.name, got, tt.want)
		}
		if n := (tt.span + got - 1) / got; n > maxReplayWindows {
			t.Errorf("%s: %d windows", tt.name, n)
		}
	}
}

// TestAPIReplay proves the wire form of a replay: progress from its window counts, and an ETA
// only for an active replay with windows done, at the pace so far.
func TestAPIReplay(t *testing.T) {
	t.Parallel()
	rp := window.Replay{ID: "r", State: window.ReplayActive, From: t0.Add(-time.Hour), To: t0, CreatedAt: t0,
		Windows: window.Counts{Done: 2, Leased: 1, Pending: 5}, Events: 17, Types: []string{"a"}, Sinks: []string{"lock"}}
	now := t0.Add(10 * time.Minute) // 2 windows in 10 minutes: 6 more take 30
	got := apiReplay(rp, now)
	if got.WindowsDone != 2 || got.WindowsTotal != 8 || got.Windows.Total != 8 || got.Events != 17 || got.State != "active" ||
		got.Types[0] != "a" || got.Sinks[0] != "lock" || !got.ETA.Equal(now.Add(30*time.Minute)) {
		t.Fatalf("replay %+v", got)
	}
	for name, rp := range map[string]window.Replay{
		"no progress": {State: window.ReplayActive, CreatedAt: t0, Windows: window.Counts{Pending: 3}},
		"done":        {State: window.ReplayDone, CreatedAt: t0, Windows: window.Counts{Done: 3}},
		"cancelled":   {State: window.ReplayCancelled, CreatedAt: t0, Windows: window.Counts{Done: 1, Cancelled: 2}},
	} {
		if got := apiReplay(rp, now); !got.ETA.IsZero() || !got.SettlesAt.IsZero() || got.WindowsSettling != 0 {
			t.Errorf("%s: ETA %v, settles at %v, %d settling; want none", name, got.ETA, got.SettlesAt, got.WindowsSettling)
		}
	}
}

// TestAPIReplaySettling proves the ETA of a replay whose windows wait for settle passes: the
// last settle pass's due time when only those are left (now once it is past), else the first
// passes left at the pace of the first passes done, and never before the last settle pass.
func TestAPIReplaySettling(t *testing.T) {
	t.Parallel()
	now := t0.Add(10 * time.Minute)
	tests := []struct {
		name      string
		windows   window.Counts
		settling  int64
		settlesAt time.Time
		wantETA   time.Time
	}{
		// 2 windows read in 10 minutes, 1 of them settling: 2 more first passes take 10.
		{"first passes left, settle pass sooner", window.Counts{Done: 1, Pending: 3}, 1, now.Add(time.Minute), now.Add(10 * time.Minute)},
		{"first passes left, settle pass later", window.Counts{Done: 1, Pending: 3}, 1, now.Add(20 * time.Minute), now.Add(20 * time.Minute)},
		{"only settle passes left", window.Counts{Done: 2, Pending: 2}, 2, now.Add(7 * time.Minute), now.Add(7 * time.Minute)},
		{"only settle passes left, nothing read to the end yet", window.Counts{Pending: 2}, 2, now.Add(7 * time.Minute), now.Add(7 * time.Minute)},
		{"only settle passes left, under way", window.Counts{Done: 2, Leased: 1}, 1, now.Add(-time.Minute), now},
	}
	for _, tt := range tests {
		rp := window.Replay{ID: "r", State: window.ReplayActive, CreatedAt: t0, Windows: tt.windows,
			Settling: tt.settling, SettlesAt: tt.settlesAt}
		got := apiReplay(rp, now)
		if !got.ETA.Equal(tt.wantETA) || !got.SettlesAt.Equal(tt.settlesAt) || got.WindowsSettling != tt.settling ||
			got.WindowsDone != tt.windows.Done || got.WindowsTotal != tt.windows.Total() {
			t.Errorf("%s: %+v; want ETA %v, settles at %v, %d settling", tt.name, got, tt.wantETA, tt.settlesAt, tt.settling)
		}
	}
}
