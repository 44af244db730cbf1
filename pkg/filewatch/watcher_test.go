package filewatch_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/auditpipe/auditpipe/pkg/filewatch"
)

// wait bounds every wait for a reload: generous, for a loaded machine under -race.
const wait = 10 * time.Second

// reload is one call of Reload: why, and what the file held then.
type reload struct {
	reason  filewatch.Reason
	content string
}

// recorder is a Reload function that reads one file and records each call. It also checks
// that calls never overlap.
type recorder struct {
	path    string
	calls   chan reload
	active  atomic.Int32
	overlap atomic.Bool
}

func newRecorder(path string) *recorder {
	return &recorder{path: path, calls: make(chan reload, 10000)}
}

func (r *recorder) reload(_ context.Context, reason filewatch.Reason) {
	if r.active.Add(1) > 1 {
		r.overlap.Store(true)
	}
	defer r.active.Add(-1)
	b, _ := os.ReadFile(r.path) // a missing file reads as ""
	select {
	case r.calls <- reload{reason: reason, content: string(b)}:
	default: // the tests that fill the buffer only count
	}
}

// waitFor receives calls until one satisfies want, and fails t after wait.
func (r *recorder) waitFor(t *testing.T, what string, want func(reload) bool) reload {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case c := <-r.calls:
			if want(c) {
				return c
			}
		case <-deadline:
			t.Fatalf("no reload %s within %v", what, wait)
		}
	}
}

// none fails t when a call arrives within d.
func (r *recorder) none(t *testing.T, d time.Duration, why string) {
	t.Helper()
	select {
	case c := <-r.calls:
		t.Fatalf("a reload (%s, %q) %s", c.reason, c.content, why)
	case <-time.After(d):
	}
}

func (r *recorder) checkNoOverlap(t *testing.T) {
	t.Helper()
	if r.overlap.Load() {
		t.Error("two Reload calls ran at once")
	}
}

// start makes a Watcher for cfg, closed with the test.
func start(t *testing.T, cfg filewatch.Config) *filewatch.Watcher {
	t.Helper()
	w, err := filewatch.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return w
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// renameOver replaces path as tbot and editors do: a new file renamed over it.
func renameOver(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	write(t, tmp, content)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// secret lays out dir as Kubernetes mounts a secret with key name: dir/name → ..data/name,
// ..data → ..v1. update writes a new version and swaps ..data to it, as the kubelet's atomic
// writer does.
type secret struct {
	t       *testing.T
	dir     string
	version int
}

func newSecret(t *testing.T, name, content string) (*secret, string) {
	t.Helper()
	s := &secret{t: t, dir: t.TempDir()}
	s.writeVersion(name, content)
	if err := os.Symlink(s.versionDir(), filepath.Join(s.dir, "..data")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(s.dir, name)
	if err := os.Symlink(filepath.Join("..data", name), path); err != nil {
		t.Fatal(err)
	}
	return s, path
}

func (s *secret) versionDir() string { return "..v" + strconv.Itoa(s.version) }

func (s *secret) writeVersion(name, content string) {
	s.version++
	dir := filepath.Join(s.dir, s.versionDir())
	if err := os.Mkdir(dir, 0o700); err != nil {
		s.t.Fatal(err)
	}
	write(s.t, filepath.Join(dir, name), content)
}

func (s *secret) update(name, content string) {
	s.writeVersion(name, content)
	tmp := filepath.Join(s.dir, "..data_tmp")
	if err := os.Symlink(s.versionDir(), tmp); err != nil {
		s.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, "..data")); err != nil {
		s.t.Fatal(err)
	}
}

// TestNewRefuses: a Config that would never reload, or a directory that cannot be watched,
// fails New with an error that says which.
func TestNewRefuses(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "gone", "file")
	noop := func(context.Context, filewatch.Reason) {}
	tests := []struct {
		name    string
		given   filewatch.Config
		wantErr string
	}{
		{name: "no reload", given: filewatch.Config{Files: []string{missing}}, wantErr: "Reload is nil"},
		{name: "nothing to watch", given: filewatch.Config{Reload: noop}, wantErr: "no Files and no Interval"},
		{name: "negative interval", given: filewatch.Config{Reload: noop, Interval: -time.Second}, wantErr: "negative"},
		{name: "negative debounce", given: filewatch.Config{Reload: noop, Interval: time.Second, Debounce: -1}, wantErr: "negative"},
		{name: "missing directory", given: filewatch.Config{Reload: noop, Files: []string{missing}}, wantErr: filepath.Dir(missing)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := filewatch.New(tt.given)
			if err == nil {
				_ = w.Close()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q does not say %q", err, tt.wantErr)
			}
		})
	}
}

// TestReloadOnChange: each way a file is replaced in practice is seen, and the reload reads the
// new content; a change elsewhere in the directory reloads too (the names of a secret's events
// are not the file's).
func TestReloadOnChange(t *testing.T) {
	t.Parallel()
	plain := func(t *testing.T) string {
		path := filepath.Join(t.TempDir(), "file")
		write(t, path, "v1")
		return path
	}
	tests := []struct {
		name  string
		given func(t *testing.T) (path string, change func(content string))
	}{
		{name: "write in place", given: func(t *testing.T) (string, func(string)) {
			path := plain(t)
			return path, func(c string) { write(t, path, c) }
		}},
		{name: "rename over", given: func(t *testing.T) (string, func(string)) {
			path := plain(t)
			return path, func(c string) { renameOver(t, path, c) }
		}},
		{name: "kubernetes secret update", given: func(t *testing.T) (string, func(string)) {
			s, path := newSecret(t, "file", "v1")
			return path, func(c string) { s.update("file", c) }
		}},
		{name: "removed and created again", given: func(t *testing.T) (string, func(string)) {
			path := plain(t)
			return path, func(c string) {
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
				write(t, path, c)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path, change := tt.given(t)
			r := newRecorder(path)
			start(t, filewatch.Config{Files: []string{path}, Debounce: 20 * time.Millisecond, Reload: r.reload})
			for _, v := range []string{"v2", "v3"} {
				change(v)
				got := r.waitFor(t, "with "+v, func(c reload) bool { return c.content == v })
				if got.reason != filewatch.ReasonChange {
					t.Fatalf("reason %q, want %q", got.reason, filewatch.ReasonChange)
				}
			}
			r.checkNoOverlap(t)
		})
	}
}

// TestReloadWatchesEveryDirectory: files in two directories are both watched.
func TestReloadWatchesEveryDirectory(t *testing.T) {
	t.Parallel()
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	write(t, a, "a1")
	write(t, b, "b1")
	var (
		mu   sync.Mutex
		seen = map[string]string{}
	)
	reloaded := make(chan struct{}, 100)
	start(t, filewatch.Config{Files: []string{a, b, a}, Debounce: 20 * time.Millisecond,
		Reload: func(context.Context, filewatch.Reason) {
			mu.Lock()
			for _, p := range []string{a, b} {
				c, _ := os.ReadFile(p)
				seen[p] = string(c)
			}
			mu.Unlock()
			reloaded <- struct{}{}
		}})
	for _, step := range []struct{ path, content string }{{a, "a2"}, {b, "b2"}} {
		write(t, step.path, step.content)
		deadline := time.After(wait)
		for done := false; !done; {
			select {
			case <-reloaded:
				mu.Lock()
				done = seen[step.path] == step.content
				mu.Unlock()
			case <-deadline:
				t.Fatalf("no reload after %s changed", step.path)
			}
		}
	}
}

// TestDebounce: a burst of writes makes one reload, of the last content, once the directory
// has been quiet for the debounce.
func TestDebounce(t *testing.T) {
	t.Parallel()
	const debounce = 400 * time.Millisecond // far above the time the burst takes
	path := filepath.Join(t.TempDir(), "file")
	write(t, path, "v0")
	r := newRecorder(path)
	start(t, filewatch.Config{Files: []string{path}, Debounce: debounce, Reload: r.reload})
	began := time.Now()
	for i := 1; i <= 20; i++ {
		write(t, path, fmt.Sprintf("v%d", i))
	}
	burst := time.Since(began)
	got := r.waitFor(t, "after the burst", func(reload) bool { return true })
	if got.content != "v20" {
		t.Fatalf("the reload read %q, want the last write v20", got.content)
	}
	if took := time.Since(began); took < debounce {
		t.Fatalf("reloaded %v after the burst began, before the debounce of %v", took, debounce)
	}
	if burst < debounce/2 { // else the machine stalled mid-burst and two reloads are right
		r.none(t, 2*debounce, "after the single reload of a burst")
	}
}

// TestInterval: with an interval the reload runs on time whatever the events — also for a
// file whose change no directory watch sees (a symlink into another directory), and with no
// file watched at all. Reloads never overlap, even when one takes longer than the interval.
func TestInterval(t *testing.T) {
	t.Parallel()
	target := filepath.Join(t.TempDir(), "file")
	write(t, target, "v1")
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}

	t.Run("symlink into another directory", func(t *testing.T) {
		r := newRecorder(link)
		start(t, filewatch.Config{Files: []string{link}, Interval: 50 * time.Millisecond, Reload: r.reload})
		write(t, target, "v2")
		got := r.waitFor(t, "with v2", func(c reload) bool { return c.content == "v2" })
		if got.reason != filewatch.ReasonInterval {
			t.Fatalf("reason %q: the directory watch saw a change in another directory", got.reason)
		}
	})
	t.Run("interval only, slow reloads", func(t *testing.T) {
		r := newRecorder(target)
		slow := func(ctx context.Context, reason filewatch.Reason) {
			r.reload(ctx, reason)
			time.Sleep(5 * time.Millisecond) // longer than the interval: ticks must not pile up in parallel
		}
		start(t, filewatch.Config{Interval: time.Millisecond, Reload: slow})
		for range 5 {
			if got := r.waitFor(t, "on the interval", func(reload) bool { return true }); got.reason != filewatch.ReasonInterval {
				t.Fatalf("reason %q", got.reason)
			}
		}
		r.checkNoOverlap(t)
	})
}

// TestClose: Close ends the context of the reload in progress and waits for it; afterwards
// nothing reloads, and Close again returns nil.
func TestClose(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "file")
	write(t, path, "v1")
	started := make(chan struct{})
	var returned atomic.Bool
	calls := atomic.Int32{}
	w, err := filewatch.New(filewatch.Config{Files: []string{path}, Debounce: 10 * time.Millisecond,
		Reload: func(ctx context.Context, _ filewatch.Reason) {
			if calls.Add(1) == 1 {
				close(started)
				<-ctx.Done()
				returned.Store(true)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	write(t, path, "v2")
	select {
	case <-started:
	case <-time.After(wait):
		t.Fatal("no reload")
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if !returned.Load() {
		t.Fatal("Close returned before the reload in progress did")
	}
	after := calls.Load()
	write(t, path, "v3")
	time.Sleep(100 * time.Millisecond) // 10 debounces: a reload would have run
	if n := calls.Load(); n != after {
		t.Fatalf("%d reloads after Close", n-after)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestOverflowIsReported: when events come faster than they are read and the kernel's queue
// overflows, the error goes to OnError — the Watcher neither panics nor stops — and a reload
// follows, since a change may be among the lost events.
func TestOverflowIsReported(t *testing.T) {
	t.Parallel()
	limit, err := os.ReadFile("/proc/sys/fs/inotify/max_queued_events")
	if err != nil {
		t.Skipf("no inotify queue limit to overflow: %v", err)
	}
	queue, err := strconv.Atoi(strings.TrimSpace(string(limit)))
	if err != nil || queue > 100_000 {
		t.Skipf("inotify queue of %q events: too long to overflow in a test", limit)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "file")
	write(t, path, "v1")
	hold := make(chan struct{})
	reloads := make(chan filewatch.Reason, 100)
	errs := make(chan error, 100)
	start(t, filewatch.Config{Files: []string{path}, Debounce: 10 * time.Millisecond,
		Reload: func(ctx context.Context, reason filewatch.Reason) {
			reloads <- reason
			select { // the first reload holds the Watcher, so events pile up in the kernel
			case <-hold:
			case <-ctx.Done():
			}
		},
		OnError: func(err error) { errs <- err }})
	write(t, path, "v2")
	select {
	case <-reloads:
	case <-time.After(wait):
		t.Fatal("no first reload")
	}
	// A rename queues two events (moved from, moved to) that differ from the ones before them,
	// which the kernel would merge otherwise. fsnotify holds up to 4096 events read from the
	// kernel; queue more than both hold.
	names := [2]string{filepath.Join(dir, "a"), filepath.Join(dir, "b")}
	write(t, names[0], "")
	for i := range queue + 4096 {
		if err := os.Rename(names[i%2], names[(i+1)%2]); err != nil {
			t.Fatal(err)
		}
	}
	close(hold)
	select {
	case err := <-errs:
		if !errors.Is(err, fsnotify.ErrEventOverflow) {
			t.Fatalf("OnError got %v, want fsnotify.ErrEventOverflow", err)
		}
	case <-time.After(wait):
		t.Fatal("the overflow was not reported")
	}
	select {
	case <-reloads:
	case <-time.After(wait):
		t.Fatal("no reload after the overflow")
	}
}
