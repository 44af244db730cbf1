package datadog

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/auditpipe/auditpipe/pkg/config"
)

// keyring holds the API key and whether the intake refuses it (the sink is blocked), with the
// alert and the auditpipe_sink_blocked gauge that go with it. It is safe for concurrent use.
type keyring struct {
	cfg     config.Datadog
	key     atomic.Pointer[config.Secret]
	log     *slog.Logger
	gauge   prometheus.Gauge
	blocked atomic.Bool // read without mu on every success; changed under mu with gauge
	mu      sync.Mutex
}

// newKeyring starts with key, read from cfg.
func newKeyring(cfg config.Datadog, key config.Secret, log *slog.Logger, gauge prometheus.Gauge) *keyring {
	k := &keyring{cfg: cfg, log: log, gauge: gauge}
	k.key.Store(&key)
	return k
}

// current returns the key to send. While blocked it reads the configured key again first, so
// that an operator's fix (a new api-key-file) takes effect on the next request; a key that
// cannot be read leaves the one in use. DD_API_KEY is read once, by config.Load: changing it
// needs a restart.
func (k *keyring) current() config.Secret {
	if k.blocked.Load() {
		if key, err := k.cfg.APIKey(); err == nil {
			k.key.Store(&key)
		}
	}
	return *k.key.Load()
}

// refused records that the intake answered status, a Blocked one. The first refusal after a
// success logs an alert and sets the gauge.
func (k *keyring) refused(ctx context.Context, status int, reason string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.blocked.Load() {
		k.blocked.Store(true)
		k.gauge.Set(1)
		k.log.LogAttrs(ctx, slog.LevelError, "datadog sink blocked: no event is delivered until an operator acts",
			slog.Bool("alert", true), slog.String("sink", config.SinkDatadog),
			slog.Int("status", status), slog.String("reason", reason))
	}
}

// accepted records that the intake accepted a request, ending a block.
func (k *keyring) accepted(ctx context.Context) {
	if !k.blocked.Load() {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.blocked.Load() {
		k.blocked.Store(false)
		k.gauge.Set(0)
		k.log.LogAttrs(ctx, slog.LevelInfo, "datadog sink unblocked: the intake accepts requests again",
			slog.String("sink", config.SinkDatadog))
	}
}
