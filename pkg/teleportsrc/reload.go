package teleportsrc

import (
	"context"
	"path/filepath"
	"time"

	"github.com/auditpipe/auditpipe/pkg/filewatch"
)

// watch starts reloading the identity file when its directory changes and every interval (if
// > 0), until the returned Watcher is closed; it returns nil when nothing can watch. The
// directory is watched, not the file (see package filewatch): tbot and Kubernetes secret
// volumes replace the file rather than write into it. The interval is the fallback for what a
// directory watch cannot see (a symlink to another directory, network file systems), and the
// only trigger when the directory cannot be watched. Reload failures are logged and the
// current certificate stays in use.
func (c *credentials) watch(interval time.Duration) *filewatch.Watcher {
	cfg := filewatch.Config{
		Files:    []string{c.identity.Path},
		Interval: interval,
		Reload: func(ctx context.Context, reason filewatch.Reason) {
			if err := c.reload(ctx, string(reason)); err != nil {
				c.log.WarnContext(ctx, "Cannot reload the Teleport identity file; keeping the current certificate",
					"path", c.identity.Path, "reason", string(reason), "error", err)
			}
		},
		OnError: func(err error) {
			c.log.Warn("Error watching the Teleport identity file's directory", "dir", filepath.Dir(c.identity.Path), "error", err)
		},
	}
	w, err := filewatch.New(cfg)
	if err == nil {
		return w
	}
	c.log.Warn("Cannot watch the Teleport identity file's directory; reloading it on an interval only",
		"dir", filepath.Dir(c.identity.Path), "interval", interval.String(), "error", err)
	if interval <= 0 {
		return nil
	}
	cfg.Files = nil
	w, err = filewatch.New(cfg)
	if err != nil { // cannot happen: an interval and a Reload is all New needs
		c.log.Warn("Cannot reload the Teleport identity file on an interval", "error", err)
		return nil
	}
	return w
}
