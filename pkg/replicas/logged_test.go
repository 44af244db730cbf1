package replicas

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/logtest"
	"github.com/auditpipe/auditpipe/pkg/testenv"
)

// logBuffer holds RunLogged's log, written by the beats' goroutine while the test reads it.
type logBuffer struct{ logtest.Buffer }

// warning is one of RunLogged's JSON log records.
type warning struct {
	Level             string `json:"level"`
	Msg               string `json:"msg"`
	Err               string `json:"err"`
	FailuresNotLogged int    `json:"failures_not_logged"`
}

func (b *logBuffer) warnings(t *testing.T) []warning {
	t.Helper()
	var ws []warning
	for line := range strings.SplitSeq(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var w warning
		if err := json.Unmarshal([]byte(line), &w); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		ws = append(ws, w)
	}
	return ws
}

// TestRunLogged runs RunLogged against a real Redis whose register key holds a string, so
// that every beat fails (WRONGTYPE): one warning goes out, the failures after it are held back
// until WarnEvery has passed (on the registry's clock) and then counted in the next warning.
// Once the key is gone the beats succeed and log nothing; the stop leaves the register.
func TestRunLogged(t *testing.T) {
	srv := testenv.Redis(t)
	rdb := srv.Client(t)
	r := New(rdb, srv.Prefix)
	var skew atomic.Int64 // added to the registry's clock
	r.now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	ctx := context.Background()
	if err := rdb.Set(ctx, r.key(ServiceShipper), "not a hash", 0).Err(); err != nil {
		t.Fatal(err)
	}

	logs := &logBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	var beats atomic.Int64
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- r.RunLogged(runCtx, Replica{Service: ServiceShipper, ID: "s1", Version: "v1"}, 10*time.Millisecond,
			func() any { return map[string]int64{"beat": beats.Add(1)} }, logger)
	}()
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			select {
			case err := <-done:
				t.Fatalf("RunLogged returned %v while waiting for %s", err, what)
			case <-time.After(5 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s after 10s; log:\n%s", what, logs)
			}
		}
	}

	waitUntil("10 failed beats", func() bool { return beats.Load() >= 10 })
	ws := logs.warnings(t)
	if len(ws) != 1 {
		t.Fatalf("%d warnings after %d failed beats; want 1 (rate-limited):\n%s", len(ws), beats.Load(), logs)
	}
	const msg = "replicas register: beat failed; the admin API does not list this replica until one succeeds"
	if w := ws[0]; w.Level != "WARN" || w.Msg != msg || !strings.Contains(w.Err, "WRONGTYPE") || w.FailuresNotLogged != 0 {
		t.Errorf("first warning %+v; want WARN %q with the WRONGTYPE error and failures_not_logged 0", w, msg)
	}

	held := beats.Load() - 2 // failures held back since the first warning, at least (one beat may be under way)
	skew.Add(int64(WarnEvery))
	waitUntil("a second warning once WarnEvery passed", func() bool { return len(logs.warnings(t)) >= 2 })
	if w := logs.warnings(t)[1]; w.Msg != msg || int64(w.FailuresNotLogged) < held {
		t.Errorf("second warning %+v; want failures_not_logged >= %d", w, held)
	}

	if err := rdb.Del(ctx, r.key(ServiceShipper)).Err(); err != nil {
		t.Fatal(err)
	}
	waitUntil("a beat in the register", func() bool {
		reps, err := r.List(ctx, ServiceShipper)
		return err == nil && len(reps) == 1 && reps[0].ID == "s1" && len(reps[0].Status) > 0
	})
	at := beats.Load()
	waitUntil("more beats", func() bool { return beats.Load() >= at+5 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("RunLogged after the stop = %v; want nil", err)
	}
	if n := len(logs.warnings(t)); n != 2 {
		t.Errorf("%d warnings; want none after the register answered again:\n%s", n, logs)
	}
	if reps, err := r.List(ctx, ServiceShipper); err != nil || len(reps) != 0 {
		t.Errorf("after the stop List = %+v, %v; want none (left)", reps, err)
	}
}

func TestWarnLimit(t *testing.T) {
	t.Parallel()
	w := &warnLimit{every: time.Minute}
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		after    time.Duration
		ok       bool
		wantHeld int
	}{
		{0, true, 0}, {time.Second, false, 0}, {59 * time.Second, false, 0}, {60 * time.Second, true, 2},
		{61 * time.Second, false, 0}, {10 * time.Minute, true, 1},
	}
	for _, s := range steps {
		held, ok := w.allow(at.Add(s.after))
		if ok != s.ok || held != s.wantHeld {
			t.Errorf("allow(+%v) = %d, %t; want %d, %t", s.after, held, ok, s.wantHeld, s.ok)
		}
	}
}
