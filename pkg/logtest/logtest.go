// Package logtest captures what code under test logs, for the test to read while the code
// still writes: a goroutine-safe buffer that can wait, with a deadline, for a line to appear.
//
// It imports only the standard library, so that any test can use it without linking servers
// (the servers are in testenv).
package logtest

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

// Buffer keeps everything written to it. It is safe for any number of writers (a logger's
// goroutines, callbacks) and readers (the test) at once; the zero value is ready to use.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p; it never fails.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Find returns the first line written so far (without its newline) for which match is true,
// and whether there is one.
func (b *Buffer) Find(match func(line string) bool) (string, bool) {
	for line := range strings.Lines(b.String()) {
		if line = strings.TrimSuffix(line, "\n"); match(line) {
			return line, true
		}
	}
	return "", false
}

// Wait polls the buffer until a line for which match is true has been written, and returns
// the first such line (as Find). When timeout passes first it fails the test (t.Fatalf) with
// what, the buffer's content and the timeout.
func (b *Buffer) Wait(t testing.TB, timeout time.Duration, what string, match func(line string) bool) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if line, ok := b.Find(match); ok {
			return line
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not logged within %v; the log:\n%s", what, timeout, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Records decodes the lines written so far as JSON objects (slog.JSONHandler's records), in
// order. A line that is not a JSON object fails the test (t.Fatalf).
func (b *Buffer) Records(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(b.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, rec)
	}
	return out
}

// Contains matches the lines that contain s.
func Contains(s string) func(line string) bool {
	return func(line string) bool { return strings.Contains(line, s) }
}
