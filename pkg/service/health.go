package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/health"
)

// HealthDrain bounds the shutdown of the health server once its context ends.
const HealthDrain = 5 * time.Second

// NewRegistry returns a new metrics registry (not the global one) holding the Go runtime and
// process collectors, as every service exposes them on /metrics. Its error starts "metrics: ".
func NewRegistry() (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	if err := errors.Join(
		reg.Register(collectors.NewGoCollector()),
		reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})),
	); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return reg, nil
}

// Health is a service's operational endpoints: the metrics registry that every part of the
// process registers on, and the health server of /healthz, /readyz and /metrics, listening on
// metrics.listen.
type Health struct {
	// Registry is the process's registry (NewRegistry); /metrics serves it.
	Registry *prometheus.Registry
	// Server serves the endpoints; the service adds its readiness checks to it.
	Server *health.Server

	lis net.Listener // nil when metrics.listen is empty
}

// ListenHealth makes the registry (NewRegistry) and the health server on it and, unless
// m.Listen is empty, listens on m.Listen and logs "serving /healthz, /readyz and /metrics" at
// INFO with the address it got (so that port 0 can be found). Its error starts "metrics: " or
// "metrics.listen: ". Serve must follow, to serve and close the listener.
func ListenHealth(m config.Metrics, logger *slog.Logger) (*Health, error) {
	reg, err := NewRegistry()
	if err != nil {
		return nil, err
	}
	h := &Health{Registry: reg, Server: health.NewServer(reg)}
	if m.Listen != "" {
		if h.lis, err = net.Listen("tcp", m.Listen); err != nil {
			return nil, fmt.Errorf("metrics.listen: %w", err)
		}
		logger.Info("serving /healthz, /readyz and /metrics", "addr", h.lis.Addr().String())
	}
	return h, nil
}

// Serve serves the endpoints until ctx ends, then shuts the server down within HealthDrain and
// returns nil (health.Server.Serve); the listener is closed. Without a listener (an empty
// metrics.listen) it returns nil at once. A service runs it with a context that outlives its
// engine, so that /metrics stays up while the engine drains.
func (h *Health) Serve(ctx context.Context) error {
	if h.lis == nil {
		return nil
	}
	return h.Server.Serve(ctx, h.lis, HealthDrain)
}
