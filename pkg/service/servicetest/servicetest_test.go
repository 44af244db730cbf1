package servicetest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/replicas"
	"github.com/auditpipe/auditpipe/pkg/testenv"
)

// recorder is a testing.TB that records failures; Fatalf ends the goroutine as testing.T's
// does, so each call under test runs on a goroutine of its own (fails).
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
	fatal  string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.fatal = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *recorder) Fatal(args ...any) { r.Fatalf("%s", fmt.Sprint(args...)) }

// fails runs f with a recorder on a goroutine of its own and returns every failure it
// recorded, the fatal one last.
func fails(t *testing.T, f func(tb testing.TB)) []string {
	t.Helper()
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	if r.fatal != "" {
		return append(r.errors, r.fatal)
	}
	return r.errors
}

// Each check of a Case fails when what it checks is broken, and only then.
func TestCaseCheck(t *testing.T) {
	errBoom := errors.New("boom: redis: PING 127.0.0.1:1")
	tests := []struct {
		name   string
		given  Case
		err    error
		stdout string
		log    string
		want   string // in the one failure; "" for none
	}{
		{name: "is", given: Case{WantIs: flag.ErrHelp}, err: fmt.Errorf("x: %w", flag.ErrHelp)},
		{name: "is not", given: Case{WantIs: flag.ErrHelp}, err: errBoom, want: "want flag: help requested"},
		{name: "is, no error", given: Case{WantIs: flag.ErrHelp}, want: "run = <nil>"},
		{name: "error", given: Case{WantErr: []string{"boom", "PING"}}, err: errBoom},
		{name: "error lacks", given: Case{WantErr: []string{"boom", "ECHO"}}, err: errBoom, want: `"ECHO" not in the error`},
		{name: "no error", given: Case{WantErr: []string{"boom"}}, want: "run = nil; want an error"},
		{name: "unwanted error", err: errBoom, want: "want no error"},
		{name: "out", given: Case{WantOut: []string{"v1"}}, stdout: "x v1 (go)"},
		{name: "out lacks", given: Case{WantOut: []string{"v2"}}, stdout: "x v1 (go)", want: `"v2" not on stdout`},
		{name: "no out", given: Case{NoOut: true}, log: "usage"},
		{name: "out, want none", given: Case{NoOut: true}, stdout: "usage", want: `stdout: "usage"; want nothing`},
		{name: "log", given: Case{WantLog: []string{"INSECURE"}}, log: `{"msg":"INSECURE"}`},
		{name: "log lacks", given: Case{WantLog: []string{"WARN"}}, log: `{"msg":"INSECURE"}`, want: `"WARN" not in the log`},
		{name: "hidden", given: Case{WantErr: []string{"url"}, Hidden: "hunter2"}, err: errors.New("url"), stdout: "a", log: "b"},
		{name: "hidden in the error", given: Case{WantErr: []string{"url"}, Hidden: "hunter2"},
			err: errors.New("url redis://admin:hunter2@redis"), want: `"hunter2" shown`},
		{name: "hidden in the log", given: Case{WantErr: []string{"url"}, Hidden: "hunter2"}, err: errors.New("url"),
			log: "hunter2", want: `"hunter2" shown`},
		{name: "hidden on stdout", given: Case{Hidden: "hunter2"}, stdout: "hunter2", want: `"hunter2" shown`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fails(t, func(tb testing.TB) { tt.given.check(tb, tt.err, tt.stdout, tt.log) })
			switch {
			case tt.want == "" && len(got) > 0:
				t.Errorf("failures %q; want none", got)
			case tt.want != "" && (len(got) != 1 || !strings.Contains(got[0], tt.want)):
				t.Errorf("failures %q; want one with %q", got, tt.want)
			}
		})
	}
}

// fakeRun logs the address of its server, beats into reg while ctx lasts (when reg is not
// nil), and returns stopErr after the stop; with --fail it returns an error at once.
func fakeRun(reg *replicas.Registry, stopErr error) func(ctx context.Context, args, env []string, stdout, stderr io.Writer) error {
	return func(ctx context.Context, args, env []string, stdout, stderr io.Writer) error {
		if len(args) > 0 && args[0] == "--fail" {
			return errors.New("redis: PING 127.0.0.1:1")
		}
		fmt.Fprintln(stdout, "started")
		log := slog.New(slog.NewJSONHandler(stderr, nil))
		log.Info("serving /healthz, /readyz and /metrics", "addr", "127.0.0.1:9")
		if reg != nil {
			rep := replicas.Replica{Service: replicas.ServiceIngest, ID: "i-1", Version: "dev", Started: time.Now()}
			n := 0
			return errors.Join(reg.Run(ctx, rep, 20*time.Millisecond, func() any { n++; return map[string]int{"beats": n} }, nil), stopErr)
		}
		<-ctx.Done()
		log.Info("stopped")
		return stopErr
	}
}

func TestService(t *testing.T) {
	s := Start(t, fakeRun(nil, nil), nil, nil)
	if addr := s.HealthAddr(t); addr != "127.0.0.1:9" {
		t.Errorf("HealthAddr = %q", addr)
	}
	s.Stop(t)
	if !strings.Contains(s.Log.String(), `"msg":"stopped"`) || s.Stdout.String() != "started\n" {
		t.Errorf("stdout %q, log:\n%s", s.Stdout, s.Log)
	}
}

func TestServiceFailures(t *testing.T) {
	t.Run("an error after the stop", func(t *testing.T) {
		s := Start(t, fakeRun(nil, errors.New("drain failed")), nil, nil)
		got := fails(t, s.Stop)
		if len(got) != 1 || !strings.Contains(got[0], "run after the stop = drain failed") {
			t.Errorf("failures %q", got)
		}
	})
	t.Run("returned while waiting", func(t *testing.T) {
		s := Start(t, fakeRun(nil, nil), []string{"--fail"}, nil)
		got := fails(t, func(tb testing.TB) { s.LogAddr(tb, "serving the admin API") })
		if len(got) != 1 || !strings.Contains(got[0], "run returned redis: PING 127.0.0.1:1 while waiting for") {
			t.Errorf("failures %q", got)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		s := Start(t, fakeRun(nil, nil), nil, nil)
		got := fails(t, func(tb testing.TB) { s.WaitFor(tb, 100*time.Millisecond, "Godot", func() bool { return false }) })
		if len(got) != 1 || !strings.Contains(got[0], "no Godot after 100ms") || !strings.Contains(got[0], "serving /healthz") {
			t.Errorf("failures %q; want the timeout and the log", got)
		}
	})
}

func TestMember(t *testing.T) {
	r := testenv.Redis(t)
	reg := replicas.New(r.Client(t), r.Prefix)
	s := Start(t, fakeRun(reg, nil), nil, nil)
	type status struct{ Beats int }
	want := replicas.Replica{Service: replicas.ServiceIngest, ID: "i-1", Version: "dev"}
	got := Member(t, s, reg, want, 10*time.Second, func(m status) bool { return m.Beats >= 3 })
	if got.Beats < 3 {
		t.Errorf("Member = %+v; want 3 beats or more", got)
	}

	other := replicas.Replica{Service: replicas.ServiceIngest, ID: "i-2", Version: "dev"}
	f := fails(t, func(tb testing.TB) { Member(tb, s, reg, other, 10*time.Second, func(status) bool { return true }) })
	if len(f) != 1 || !strings.Contains(f[0], "want id i-2, version dev") {
		t.Errorf("another replica: failures %q", f)
	}
	f = fails(t, func(tb testing.TB) {
		Member(tb, s, reg, want, 200*time.Millisecond, func(status) bool { return false })
	})
	if len(f) != 1 || !strings.Contains(f[0], "after 200ms (last status {Beats:") {
		t.Errorf("never ready: failures %q; want the last status", f)
	}
	s.Stop(t)
}
