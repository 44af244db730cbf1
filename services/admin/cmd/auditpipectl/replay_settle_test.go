package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/logtest"
	"github.com/auditpipe/auditpipe/pkg/window"
)

// testGrace is the ingest.settle-grace of the tests' ingest: not the 10m default, so that
// output guessing the default fails.
const testGrace = 3 * time.Minute

// laterClock is the real clock moved ahead by hand: an ingest replica whose settle passes
// come due when the test says.
type laterClock struct {
	mu    sync.Mutex
	ahead time.Duration
}

func (c *laterClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.ahead)
}

func (c *laterClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ahead += d
}

// settlingIngest is ingest's part in the settle tests: a window store over the env's Redis
// with ingest.settle-grace testGrace, on a clock the test moves.
type settlingIngest struct {
	t     *testing.T
	store *window.Store
	clock *laterClock
}

func newSettlingIngest(e *apiEnv) *settlingIngest {
	e.t.Helper()
	in := &settlingIngest{t: e.t, clock: &laterClock{}}
	cfg := window.DefaultConfig()
	cfg.KeyPrefix = e.cfg.Redis.KeyPrefix
	cfg.SettleGrace = testGrace
	cfg.Clock = in.clock
	var err error
	if in.store, err = window.New(e.rdb, cfg); err != nil {
		e.t.Fatal(err)
	}
	return in
}

// readAll claims and completes every claimable window, counting 10 events for each, and
// returns how many passes it made.
func (in *settlingIngest) readAll() int {
	in.t.Helper()
	ctx := in.t.Context()
	n := 0
	for {
		l, err := in.store.Claim(ctx, "test-ingest")
		if errors.Is(err, window.ErrNoWork) {
			return n
		}
		if err != nil {
			in.t.Fatal(err)
		}
		if !l.Window().Settle {
			if err := in.store.AddReplayEvents(ctx, l.Window().ReplayID, 10); err != nil {
				in.t.Fatal(err)
			}
		}
		if err := l.Complete(ctx); err != nil {
			in.t.Fatal(err)
		}
		n++
	}
}

// settleTime is when the store says the settle pass of replay id is due: the ReadyAt of its
// one window waiting for one.
func (in *settlingIngest) settleTime(id string) time.Time {
	in.t.Helper()
	ws, err := in.store.ReplayWindows(in.t.Context(), id)
	if err != nil {
		in.t.Fatal(err)
	}
	var at time.Time
	for _, w := range ws {
		if w.Settle && w.State == window.StatePending {
			if !at.IsZero() {
				in.t.Fatalf("replay %s has two windows waiting for a settle pass", id)
			}
			at = w.ReadyAt
		}
	}
	if at.IsZero() {
		in.t.Fatalf("no window of replay %s waits for a settle pass", id)
	}
	return at
}

// startReplayWait runs `replay --wait` of [-30h, -1m) — two windows, the second ending within
// the grace — until ctx ends, copying its stderr into progress; it returns the replay once
// the API has it, and the channel of the command's result.
func startReplayWait(t *testing.T, e *apiEnv, ctx context.Context, progress *logtest.Buffer) (adminapi.Replay, <-chan result) {
	t.Helper()
	done := make(chan result, 1)
	go func() {
		done <- runCtl(t, ctx, e.env(), func(a *app) { a.stderr = io.MultiWriter(a.stderr, progress) },
			"--token-file", e.tokenFile, "replay", "--from", "-30h", "--to", "-1m", "--wait", "--interval", "20ms")
	}()
	var r adminapi.Replay
	waitUntil(t, "the replay", func() bool {
		list, err := e.client().Replays(ctx)
		if err == nil && len(list.Replays) == 1 {
			r = list.Replays[0]
		}
		return r.ID != ""
	})
	if r.WindowsTotal != 2 {
		t.Fatalf("replay %+v; want 2 windows", r)
	}
	return r, done
}

// replay --wait of a range that ends within ingest.settle-grace shows, once every window was
// read, that it waits for the settle pass at the time the server says (the range's end + the
// grace ingest runs with), and keeps waiting until the pass is done.
func TestReplayWaitSettles(t *testing.T) {
	e := newAPIEnv(t)
	in := newSettlingIngest(e)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	progress := &logtest.Buffer{}
	r, done := startReplayWait(t, e, ctx, progress)

	if n := in.readAll(); n != 2 {
		t.Fatalf("%d first passes; want 2", n)
	}
	at := in.settleTime(r.ID)
	if want := r.To.Add(testGrace); !at.Equal(want) {
		t.Fatalf("settle pass due %v; want the range's end + %v = %v", at, testGrace, want)
	}
	waiting := "exported 20 events; waiting for the settle pass at " + at.UTC().Format("15:04:05") + "Z (in "
	waitUntil(t, "the settle wait", func() bool { return strings.Contains(progress.String(), waiting) })
	select {
	case res := <-done:
		t.Fatalf("replay --wait returned before the settle pass:\n%s\n%s", res.stdout, res.stderr)
	case <-time.After(100 * time.Millisecond):
	}

	in.clock.Advance(testGrace)
	if n := in.readAll(); n != 1 {
		t.Fatalf("%d settle passes; want 1", n)
	}
	var res result
	select {
	case res = <-done:
	case <-ctx.Done():
		t.Fatal("replay --wait did not return")
	}
	res.want(t, 0, []string{"replay " + r.ID + " started", "replay " + r.ID + " done: 2/2 windows, 20 events, in "},
		waiting, "2/2 windows, 20 events, done")
}

// While a replay waits only for its settle pass, `replays` shows it settling until the
// server's settles_at, -o json has settles_at, and an interrupted --wait says what it waits for.
func TestReplaySettling(t *testing.T) {
	e := newAPIEnv(t)
	in := newSettlingIngest(e)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	progress := &logtest.Buffer{}
	r, done := startReplayWait(t, e, ctx, progress)

	// Before the windows are read: active, no settle pass known.
	e.ctl("replays").want(t, 0, []string{r.ID + "  active"})
	if out := e.ctl("replays", "-o", "json").stdout; strings.Contains(out, "settles_at") {
		t.Errorf("settles_at before any window was read:\n%s", out)
	}
	in.readAll()
	at := in.settleTime(r.ID)
	if want := r.To.Add(testGrace); !at.Equal(want) {
		t.Fatalf("settle pass due %v; want %v", at, want)
	}
	waitUntil(t, "the settle wait", func() bool { return strings.Contains(progress.String(), "waiting for the settle pass") })
	cancel()
	res := <-done
	res.want(t, 1, nil, "stopped waiting", "replay "+r.ID+" goes on (every window was read; it waits for the settle pass at "+
		at.UTC().Format("15:04:05")+"Z)", "auditpipectl cancel")

	e.ctl("replays").want(t, 0, []string{r.ID + "  settling", "1/2", "20", fmtTime(at)})
	out := e.ctl("replays", "-o", "json").stdout
	var list adminapi.ReplayList
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list.Replays) != 1 {
		t.Fatalf("replays -o json: %v\n%s", err, out)
	}
	if got := list.Replays[0]; got.State != replayActive || !got.SettlesAt.Equal(at) || got.WindowsSettling != 1 || !got.ETA.Equal(at) {
		t.Errorf("replays -o json: %+v; want active, settling at %v", got, at)
	}
	if !strings.Contains(out, `"settles_at": "`+at.UTC().Format(time.RFC3339Nano)+`"`) {
		t.Errorf("replays -o json lacks settles_at %v:\n%s", at, out)
	}

	in.clock.Advance(testGrace)
	in.readAll()
	e.ctl("replays").want(t, 0, []string{r.ID + "  done", "2/2"})
	if out := e.ctl("replays", "-o", "json").stdout; strings.Contains(out, "settles_at") {
		t.Errorf("settles_at on a done replay:\n%s", out)
	}
}

// TestProgressText proves the --wait bar's description: the pace and ETA while windows are
// read (with the settle pass already known), and once only settle passes are left, when the
// last is due by the server's settles_at, counting down; an older server's answer, without
// windows_settling, is never taken for settling.
func TestProgressText(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 1, 0, 0, time.UTC)
	at := time.Date(2025, 3, 1, 12, 6, 0, 0, time.UTC)
	active := func(done, settling, total int64, settlesAt time.Time) *adminapi.Replay {
		return &adminapi.Replay{State: replayActive, WindowsDone: done, WindowsSettling: settling, WindowsTotal: total,
			Events: 20, SettlesAt: settlesAt, ETA: now.Add(30 * time.Minute)}
	}
	tests := []struct {
		name string
		r    *adminapi.Replay
		want string
	}{
		{"reading", active(1, 0, 4, time.Time{}), "1/4 windows, 20 events, ETA "},
		{"reading, a settle pass known", active(1, 1, 4, at), "1/4 windows, 20 events, ETA "},
		{"waiting for the settle pass", active(1, 1, 2, at), "exported 20 events; waiting for the settle pass at 12:06:00Z (in 5m) for late events"},
		{"settle pass due", active(0, 2, 2, now.Add(-time.Minute)), "exported 20 events; waiting for the settle pass at 12:00:00Z (due now) for late events"},
		{"settle pass far off", active(0, 1, 1, now.Add(13*time.Hour)), "waiting for the settle pass at 2025-03-02T01:01:00Z (in 13h00m)"},
		{"an older server", active(1, 0, 2, time.Time{}), "1/2 windows, 20 events, ETA "},
		{"done", &adminapi.Replay{State: replayDone, WindowsDone: 2, WindowsTotal: 2, Events: 20}, "2/2 windows, 20 events, done"},
	}
	for _, tt := range tests {
		got := progressText(tt.r, now)
		if !strings.Contains(got, tt.want) {
			t.Errorf("%s: %q; want %q in it", tt.name, got, tt.want)
		}
		if known := !tt.r.SettlesAt.IsZero() && !settling(tt.r); known != strings.Contains(got, ", settle pass at "+clockTime(tt.r.SettlesAt, now)) {
			t.Errorf("%s: %q; want the settle pass's time after the ETA exactly while windows are still read", tt.name, got)
		}
	}
}
