// Package servicetest runs an auditpipe service's whole program (its service.RunFunc, as main
// runs it) inside a test: a table of runs whose outcome is checked ([RunCases]), and a run in
// the background that the test waits on, reads the log of, and stops as SIGTERM does
// ([Start]).
//
// Its helpers take the *testing.T (or testing.TB) of the test that calls them and fail that
// test; none skips one.
package servicetest

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/logtest"
	"github.com/auditpipe/auditpipe/pkg/service"
)

// CaseTimeout bounds each run of RunCases: a case that should fail at once but hangs fails
// with the context's error instead of stalling the test binary.
const CaseTimeout = 30 * time.Second

// Case is one run of a service and what it must show. With neither WantIs nor WantErr, run
// must return nil.
type Case struct {
	Name    string
	Given   []string // the arguments, without the program name
	Env     []string // the environment, as os.Environ gives it
	WantIs  error    // errors.Is(err, WantIs)
	WantErr []string // each in the error
	WantOut []string // each on stdout
	NoOut   bool     // nothing on stdout
	WantLog []string // each in the log (stderr)
	Hidden  string   // in none of stdout, the log and the error (a secret)
}

// CommandLineCases are the cases of the command line that every service has
// (service.NewFlags): --help and -h print the usage, with --config, --set, --version and
// each of the service's own usage lines, on stderr and nothing on stdout; --version prints
// "<program> <version> (go…"; an argument that is not a flag, a --set without "=" and a
// --config file that is not there are errors. A service runs them with its own cases (its
// flags, its configuration).
func CommandLineCases(program, version string, usage ...string) []Case {
	usage = append([]string{"Usage: " + program + " [flags]", "-config file", "-set key=value", "-version"}, usage...)
	return []Case{
		{Name: "help", Given: []string{"--help"}, WantIs: flag.ErrHelp, WantLog: usage, NoOut: true},
		{Name: "h", Given: []string{"-h"}, WantIs: flag.ErrHelp, WantLog: usage, NoOut: true},
		{Name: "version", Given: []string{"--version"}, WantOut: []string{program + " " + version + " (go"}},
		{Name: "argument", Given: []string{"extra"}, WantErr: []string{`unexpected argument "extra"`}},
		{Name: "bad set", Given: []string{"--set", "nokey"}, WantErr: []string{"--set argument 1: want key=value"}},
		{
			Name:    "missing file",
			Given:   []string{"--config", "/nonexistent/auditpipe.toml"},
			WantErr: []string{"configuration:", "/nonexistent/auditpipe.toml"},
		},
	}
}

// RunCases runs each case as a parallel subtest of t: run with the case's arguments and
// environment, stdout and stderr to buffers, under a CaseTimeout context; then it checks
// every Want and Hidden of the case, failing the subtest with the output. run must be safe
// to call concurrently (a service's run keeps no global state).
func RunCases(t *testing.T, run service.RunFunc, cases []Case) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr logtest.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), CaseTimeout)
			defer cancel()
			err := run(ctx, tc.Given, tc.Env, &stdout, &stderr)
			tc.check(t, err, stdout.String(), stderr.String())
		})
	}
}

func (tc Case) check(t testing.TB, err error, stdout, log string) {
	t.Helper()
	if tc.WantIs != nil && !errors.Is(err, tc.WantIs) {
		t.Fatalf("run = %v; want %v\nlog:\n%s", err, tc.WantIs, log)
	}
	switch {
	case len(tc.WantErr) > 0 && err == nil:
		t.Fatalf("run = nil; want an error with %q\nlog:\n%s", tc.WantErr, log)
	case tc.WantIs == nil && len(tc.WantErr) == 0 && err != nil:
		t.Fatalf("run = %v; want no error\nlog:\n%s", err, log)
	}
	for _, w := range tc.WantErr {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q not in the error:\n%v", w, err)
		}
	}
	for _, w := range tc.WantOut {
		if !strings.Contains(stdout, w) {
			t.Errorf("%q not on stdout:\n%s", w, stdout)
		}
	}
	if tc.NoOut && stdout != "" {
		t.Errorf("stdout: %q; want nothing", stdout)
	}
	for _, w := range tc.WantLog {
		if !strings.Contains(log, w) {
			t.Errorf("%q not in the log:\n%s", w, log)
		}
	}
	if tc.Hidden != "" && strings.Contains(fmt.Sprint(stdout, log, err), tc.Hidden) {
		t.Errorf("%q shown:\n%s%s%v", tc.Hidden, stdout, log, err)
	}
}

// ConfigFile writes toml to a file auditpipe.toml of its own under t.TempDir() and returns
// its path, for --config.
func ConfigFile(t testing.TB, toml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "auditpipe.toml")
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Timeouts of a Service.
const (
	// StopTimeout is how long run may take to return once its context ends (Stop, cleanup).
	StopTimeout = 30 * time.Second
	// AddrTimeout is how long LogAddr and HealthAddr wait for the address to be logged.
	AddrTimeout = 15 * time.Second
)

// Service is a service's run going on in the background, started by Start. Its methods are
// for the test's goroutine; Stdout and Log may be read from any.
type Service struct {
	// Stdout and Log hold what run writes to its stdout and its stderr (the log).
	Stdout, Log *logtest.Buffer

	cancel context.CancelFunc
	done   chan struct{} // closed when run has returned
	err    error         // what run returned, once done is closed
}

// Start runs run with args and env in the background, with a context that Stop (or the end of
// the test) cancels. When the test ends without Stop, its cleanup cancels run and waits up to
// StopTimeout for it to return, failing the test if it does not; run's error is not checked
// then. Call Start after the servers run uses, so that it stops before they do.
func Start(t testing.TB, run service.RunFunc, args, env []string) *Service {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{Stdout: &logtest.Buffer{}, Log: &logtest.Buffer{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.err = run(ctx, args, env, s.Stdout, s.Log)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(StopTimeout):
			t.Errorf("run did not return within %v of the test's end\nlog:\n%s", StopTimeout, s.Log)
		}
	})
	return s
}

// WaitFor polls cond every 20 ms until it is true. It fails the test (t.Fatalf, with the log)
// when timeout passes first, or when run returns first.
func (s *Service) WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	s.poll(t, timeout, what, func() (bool, string) { return cond(), "" })
}

// poll is WaitFor with a description of the state cond saw last, for the failure.
func (s *Service) poll(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if state != "" {
			state = " (" + state + ")"
		}
		select {
		case <-s.done:
			t.Fatalf("run returned %v while waiting for %s%s\nlog:\n%s", s.err, what, state, s.Log)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %v%s\nlog:\n%s", what, timeout, state, s.Log)
		}
	}
}

// LogAddr waits up to AddrTimeout (as WaitFor) for the JSON log record whose msg is msg and
// that has an addr, and returns the addr: where a server of the service listens.
func (s *Service) LogAddr(t testing.TB, msg string) string {
	t.Helper()
	var addr string
	s.WaitFor(t, AddrTimeout, fmt.Sprintf("%q with an addr in the log", msg), func() bool {
		_, ok := s.Log.Find(func(line string) bool {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == msg && rec.Addr != "" {
				addr = rec.Addr
				return true
			}
			return false
		})
		return ok
	})
	return addr
}

// HealthAddr is LogAddr of the health server (/healthz, /readyz, /metrics) that every service
// starts on metrics.listen (service.ListenHealth).
func (s *Service) HealthAddr(t testing.TB) string {
	t.Helper()
	return s.LogAddr(t, "serving /healthz, /readyz and /metrics")
}

// Stop cancels run's context, as SIGTERM does, and fails the test (t.Fatalf, with the log)
// unless run returns nil within StopTimeout.
func (s *Service) Stop(t testing.TB) {
	t.Helper()
	s.cancel()
	select {
	case <-s.done:
		if s.err != nil {
			t.Fatalf("run after the stop = %v; want nil\nlog:\n%s", s.err, s.Log)
		}
	case <-time.After(StopTimeout):
		t.Fatalf("run did not return within %v of the stop\nlog:\n%s", StopTimeout, s.Log)
	}
}
