package teleportsrc

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the Client's Prometheus metrics; see WithRegisterer.
type metrics struct {
	connected  prometheus.Gauge
	reconnects prometheus.Counter
	errors     *prometheus.CounterVec // by method and gRPC code
	certExpiry prometheus.Gauge
	reloads    *prometheus.CounterVec // by result: "ok" or "error"
}

// Values of the "method" label of auditpipe_teleport_errors_total.
const (
	methodConnect       = "connect"
	methodSearch        = "search"
	methodExportChunks  = "export_chunks"
	methodExportEvents  = "export_events"
	methodSessionEvents = "session_events"
)

// newMetrics creates the metrics and registers them on reg; nil reg leaves them unregistered.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "auditpipe_teleport_connected",
			Help: "1 while the gRPC connection to Teleport is ready, 0 while it is down or being re-established.",
		}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "auditpipe_teleport_reconnects_total",
			Help: "Times the connection to Teleport was re-established after it was lost.",
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auditpipe_teleport_errors_total",
			Help: "Failed Teleport calls (each attempt, retried or not) by method and gRPC code.",
		}, []string{"method", "code"}),
		certExpiry: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "auditpipe_teleport_cert_expiry_timestamp_seconds",
			Help: "NotAfter of the Teleport client certificate in use, in Unix seconds.",
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auditpipe_teleport_credential_reloads_total",
			Help: "Reloads of the Teleport identity file by result (ok, error).",
		}, []string{"result"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.connected, m.reconnects, m.errors, m.certExpiry, m.reloads} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("teleportsrc: register metrics: %w", err)
		}
	}
	return m, nil
}
