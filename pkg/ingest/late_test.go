package ingest_test

import (
	"sync"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/ingest"
	"github.com/auditpipe/auditpipe/pkg/teleportsim"
)

// clock is a settable clock shared by the simulator and the window state.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestLateEventsSearch: events an eventually consistent backend surfaces after the first pass
// read past them are picked up by the window's settle pass, once, and nothing else is
// stored twice (the duplicate window covers the settle pass).
func TestLateEventsSearch(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Now().UTC().Truncate(time.Minute)}
	from, to := c.Now().Add(-2*time.Hour), c.Now().Add(-time.Hour)
	log := newLog(t, teleportsim.Options{Count: 3000, From: from, To: to, LateEvents: 30, LateDelay: time.Minute, Now: c.Now})
	want := expected(t, log, nil)
	e := newEnv(t)
	cfg := e.config("late", from)
	cfg.Mode = ingest.ModeSearch
	cfg.Window.Clock = c
	// Every window's first pass starts before its end + grace, so each gets a settle pass;
	// windows are (6h - 2h30m) / 2 = 1h45m long.
	cfg.Window.SettleGrace = 150 * time.Minute
	cfg.Stream.DuplicateWindow = 6 * time.Hour
	r := e.start(cfg, newSimSource(log))
	e.waitCount(len(want)-30, 30*time.Second)
	time.Sleep(500 * time.Millisecond)
	if n := e.streamCount(t.Context()); n != uint64(len(want)-30) {
		t.Fatalf("first pass: %d messages, want %d (the late events still hidden)", n, len(want)-30)
	}
	// The settle pass of the window [from, from+1h45m) is due at its end + 2h30m.
	c.Advance(140 * time.Minute)
	e.waitCount(len(want), 30*time.Second)
	time.Sleep(500 * time.Millisecond)
	e.exactlyOnce(t, want)
	if st := r.Engine.Status(); st.Events.Duplicates == 0 {
		t.Errorf("no duplicates counted: the settle pass did not read the window again? %+v", st.Events)
	}
}

// TestLateChunksExport: chunks that appear after their day was first listed (late events on
// the export path) are found by listing the recent days again, and read once.
func TestLateChunksExport(t *testing.T) {
	t.Parallel()
	from, to := recent(1)
	log := newLog(t, teleportsim.Options{Count: 3000, From: from, To: to, LateEvents: 40, LateDelay: time.Second})
	want := expected(t, log, nil)
	e := newEnv(t)
	cfg := e.config("late", from)
	cfg.Mode = ingest.ModeExport
	e.start(cfg, newSimSource(log))
	e.waitCount(len(want), 30*time.Second)
	time.Sleep(500 * time.Millisecond)
	e.exactlyOnce(t, want)
}
