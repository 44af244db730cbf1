package admin

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/auditpipe/auditpipe/pkg/health"
)

// unauthenticatedPaths are the probes' and the metrics scraper's: served to anyone without a
// rate limit, and logged at DEBUG.
var unauthenticatedPaths = map[string]struct{}{"/healthz": {}, "/readyz": {}, "/metrics": {}}

// newHealth returns pkg/health's server for /healthz, /readyz and /metrics, with readiness
// checks of the two stores the API reads: Redis answers PING, JetStream answers an account
// info request.
func newHealth(rdb redis.UniversalClient, js jetstream.JetStream, gatherer prometheus.Gatherer) *health.Server {
	h := health.NewServer(gatherer)
	h.AddCheck("redis", func(ctx context.Context) error {
		if err := rdb.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("redis: %w", err)
		}
		return nil
	})
	h.AddCheck("nats", func(ctx context.Context) error {
		if _, err := js.AccountInfo(ctx); err != nil {
			return fmt.Errorf("jetstream: %w", err)
		}
		return nil
	})
	return h
}
