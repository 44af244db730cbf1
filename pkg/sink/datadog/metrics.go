package datadog

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/sink"
)

// metrics are the sink's Prometheus metrics: the ones every HTTP sink shares (sink.HTTPMetrics,
// with sink="datadog") and Datadog's own. They are safe for concurrent use.
type metrics struct {
	*sink.HTTPMetrics
	payload  prometheus.Counter // JSON bytes before compression
	items    prometheus.Observer
	oversize prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	const ns, sub = "auditpipe", "sink_datadog"
	shared, err := sink.NewHTTPMetrics(reg, config.SinkDatadog)
	if err != nil {
		return nil, err
	}
	payload := prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
		Name: "payload_bytes_total", Help: "JSON bytes of the requests to the Datadog Logs intake, before compression."})
	items := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub,
		Name: "request_items", Help: "Log items per request to the Datadog Logs intake.",
		Buckets: []float64{1, 10, 50, 100, 250, 500, 750, 1000}})
	oversize := prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
		Name: "oversize_events_total", Help: "Events over Datadog's 1 MB item limit, sent as a marked truncated record and rejected to the dead-letter queue."})
	if reg != nil {
		if payload, err = sink.Register(reg, payload); err != nil {
			return nil, err
		}
		if items, err = sink.Register(reg, items); err != nil {
			return nil, err
		}
		if oversize, err = sink.Register(reg, oversize); err != nil {
			return nil, err
		}
	}
	return &metrics{HTTPMetrics: shared, payload: payload, items: items, oversize: oversize}, nil
}
