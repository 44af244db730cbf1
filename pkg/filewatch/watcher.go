package filewatch

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultDebounce is how long the watched directories must be quiet after an event before the
// reload runs, when [Config.Debounce] is zero.
const DefaultDebounce = 100 * time.Millisecond

// Reason says why a reload runs, for the reload function's logs.
type Reason string

const (
	// ReasonChange: something changed in a watched directory (or events were lost to an
	// overflow of the watch's queue).
	ReasonChange Reason = "file change"
	// ReasonInterval: [Config.Interval] has passed.
	ReasonInterval Reason = "interval"
)

// Config says what a [Watcher] watches and what it calls.
type Config struct {
	// Files are the files to watch; the directory of each is watched (see the package
	// documentation). Empty, with an Interval, makes a Watcher that reloads on the interval
	// only: the fallback when a directory cannot be watched.
	Files []string
	// Debounce is how long the directories must be quiet after an event before Reload runs;
	// 0 is DefaultDebounce.
	Debounce time.Duration
	// Interval, when positive, also runs Reload this often, whatever the events.
	Interval time.Duration
	// Reload re-reads the files. It is required, runs on the Watcher's goroutine, one call at a
	// time, and must keep what it has when a file cannot be read. ctx ends when Close is
	// called.
	Reload func(ctx context.Context, reason Reason)
	// OnError receives the errors of the watch itself, such as fsnotify.ErrEventOverflow;
	// nil drops them. It runs on the Watcher's goroutine and must not block.
	OnError func(error)
}

// Watcher runs [Config.Reload] when the watched directories change and on [Config.Interval],
// until Close. Make one with [New]; its methods are safe for concurrent use.
type Watcher struct {
	cfg    Config
	fs     *fsnotify.Watcher // nil when only the interval reloads
	ctx    context.Context   // ends at Close; Reload gets it
	cancel context.CancelFunc
	done   chan struct{} // closed when run returns

	closeOnce sync.Once
	closeErr  error
}

// New starts watching the directories of cfg.Files. It fails, having started nothing, when
// cfg asks for nothing (no Files and no Interval, or no Reload) or when a directory cannot be
// watched (it does not exist; the system's inotify limits are reached). A caller with an
// Interval may then fall back to a Watcher of the interval only (cfg without Files).
func New(cfg Config) (*Watcher, error) {
	switch {
	case cfg.Reload == nil:
		return nil, errors.New("filewatch: Config.Reload is nil")
	case cfg.Debounce < 0 || cfg.Interval < 0:
		return nil, fmt.Errorf("filewatch: negative Debounce (%v) or Interval (%v)", cfg.Debounce, cfg.Interval)
	case len(cfg.Files) == 0 && cfg.Interval == 0:
		return nil, errors.New("filewatch: no Files and no Interval: nothing would reload")
	}
	if cfg.Debounce == 0 {
		cfg.Debounce = DefaultDebounce
	}
	cfg.Files = slices.Clone(cfg.Files)

	w := &Watcher{cfg: cfg, done: make(chan struct{})}
	if len(cfg.Files) > 0 {
		fs, err := fsnotify.NewWatcher()
		if err != nil {
			return nil, fmt.Errorf("filewatch: %w", err)
		}
		for _, dir := range dirs(cfg.Files) {
			if err := fs.Add(dir); err != nil {
				_ = fs.Close()
				return nil, fmt.Errorf("filewatch: watch directory %s: %w", dir, err)
			}
		}
		w.fs = fs
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	go w.run()
	return w, nil
}

// dirs returns the directories of files, each once, in the order of files.
func dirs(files []string) []string {
	var out []string
	for _, f := range files {
		if d := filepath.Dir(filepath.Clean(f)); !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// run is the Watcher's goroutine: it turns events, errors and ticks into reloads until Close.
func (w *Watcher) run() {
	defer close(w.done)
	var (
		events <-chan fsnotify.Event
		errs   <-chan error
	)
	if w.fs != nil {
		events, errs = w.fs.Events, w.fs.Errors
	}
	var tick <-chan time.Time
	if w.cfg.Interval > 0 {
		t := time.NewTicker(w.cfg.Interval)
		defer t.Stop()
		tick = t.C
	}
	// settle fires Debounce after the last event; it is armed by events only.
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	defer settle.Stop()

	for {
		select {
		case <-w.ctx.Done():
			return
		case <-tick:
			w.reload(ReasonInterval)
		case _, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			settle.Reset(w.cfg.Debounce)
		case <-settle.C:
			w.reload(ReasonChange)
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			if w.cfg.OnError != nil {
				w.cfg.OnError(fmt.Errorf("filewatch: watching %v: %w", dirs(w.cfg.Files), err))
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				settle.Reset(w.cfg.Debounce) // changes may be among the lost events
			}
		}
	}
}

// reload calls Reload unless Close has been called: select picks at random among the ready
// cases, so a tick may win over the end of the context.
func (w *Watcher) reload(reason Reason) {
	if w.ctx.Err() == nil {
		w.cfg.Reload(w.ctx, reason)
	}
}

// Close stops the Watcher: it ends the context of a Reload in progress, waits for that Reload
// to return, and releases the watch. No Reload starts afterwards. Close may be called more
// than once; later calls return the first call's result.
func (w *Watcher) Close() error {
	w.closeOnce.Do(func() {
		w.cancel()
		<-w.done
		if w.fs != nil {
			if err := w.fs.Close(); err != nil && !errors.Is(err, fsnotify.ErrClosed) {
				w.closeErr = fmt.Errorf("filewatch: close: %w", err)
			}
		}
	})
	return w.closeErr
}
