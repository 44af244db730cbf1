package teleportsrc

import (
	"context"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// reloadDebounce is how long the identity file's directory must be quiet after a change before
// the file is reloaded: a writer that replaces several files (tbot writes the identity beside
// other outputs) or writes in place causes one reload, of the finished file.
const reloadDebounce = 100 * time.Millisecond

// watch reloads the identity file when its directory changes and every interval (if > 0), until
// ctx ends. The directory is watched, not the file: tbot and Kubernetes secret volumes replace
// the file by renaming another over it (Kubernetes swaps a "..data" symlink), which a watch on
// the file itself would miss after the first change. The interval is the fallback for what a
// directory watch cannot see (a symlink to another directory, network file systems). Reload
// failures are logged and the current certificate stays in use.
func (c *credentials) watch(ctx context.Context, interval time.Duration) {
	dir := filepath.Dir(c.identity.Path)
	var (
		changes <-chan fsnotify.Event
		errs    <-chan error
	)
	w, err := fsnotify.NewWatcher()
	if err == nil {
		if err = w.Add(dir); err != nil {
			_ = w.Close()
		}
	}
	if err != nil {
		c.log.WarnContext(ctx, "Cannot watch the Teleport identity file's directory; reloading it on an interval only",
			"dir", dir, "interval", interval.String(), "error", err)
	} else {
		defer func() { _ = w.Close() }()
		changes, errs = w.Events, w.Errors
	}

	var tick <-chan time.Time
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	var settled <-chan time.Time // fires reloadDebounce after the last change
	reload := func(reason string) {
		if err := c.reload(ctx, reason); err != nil {
			c.log.WarnContext(ctx, "Cannot reload the Teleport identity file; keeping the current certificate",
				"path", c.identity.Path, "reason", reason, "error", err)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			reload("interval")
		case _, ok := <-changes:
			if !ok {
				changes = nil
				continue
			}
			settled = time.After(reloadDebounce)
		case <-settled:
			settled = nil
			reload("file change")
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			c.log.WarnContext(ctx, "Error watching the Teleport identity file's directory", "dir", dir, "error", err)
		}
	}
}
