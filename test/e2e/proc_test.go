package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// proc is a process a test started. Its output (stdout and stderr) goes to a log file, whose
// last lines the test log shows when the test fails.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string

	mu    sync.Mutex
	lines []string // every output line, for the test to search

	done    chan struct{} // closed once the process has exited
	waitErr error         // cmd.Wait's error, set before done closes
}

// startProc starts bin with args, in the test's environment; onLine, when not nil, sees every
// output line as it comes. At cleanup a process still running is stopped with SIGKILL, and a
// failed test shows the tail of its log.
func startProc(t testing.TB, name, bin string, onLine func(string), args ...string) *proc {
	t.Helper()
	return startProcEnv(t, name, bin, nil, onLine, args...)
}

// startProcEnv is startProc with the environment env ("NAME=value" items); nil is the
// test's own environment.
func startProcEnv(t testing.TB, name, bin string, env []string, onLine func(string), args ...string) *proc {
	t.Helper()
	p := &proc{name: name, log: filepath.Join(t.TempDir(), name+".log"), done: make(chan struct{})}
	logFile, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		defer logFile.Close()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			line := sc.Text()
			_, _ = logFile.WriteString(line + "\n")
			p.mu.Lock()
			p.lines = append(p.lines, line)
			p.mu.Unlock()
			if onLine != nil {
				onLine(line)
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		p.waitErr = p.cmd.Wait()
		_ = pw.Close()
		<-copied
		close(p.done)
	}()
	t.Cleanup(func() {
		p.signal(syscall.SIGKILL)
		<-p.done
		if t.Failed() {
			t.Logf("last lines of %s (%s):\n%s", name, p.log, p.tail(40))
		}
	})
	return p
}

// signal sends sig unless the process has exited.
func (p *proc) signal(sig os.Signal) {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(sig)
	}
}

// exited reports whether the process has exited.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits up to timeout for the process to exit and returns its exit code (-1 when a
// signal ended it); it fails the test on timeout.
func (p *proc) wait(t testing.TB, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("%s still running after %v", p.name, timeout)
	}
	var exit *exec.ExitError
	if p.waitErr != nil && !errors.As(p.waitErr, &exit) {
		t.Fatalf("%s: %v", p.name, p.waitErr)
	}
	return p.cmd.ProcessState.ExitCode()
}

// logged reports whether an output line so far contains s.
func (p *proc) logged(s string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// records are the output lines that are JSON objects (log records) for which match is true.
func (p *proc) records(match func(map[string]any) bool) []map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []map[string]any
	for _, l := range p.lines {
		var r map[string]any
		if json.Unmarshal([]byte(l), &r) == nil && match(r) {
			out = append(out, r)
		}
	}
	return out
}

// tail is the last n output lines.
func (p *proc) tail(n int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines[max(0, len(p.lines)-n):], "\n")
}
