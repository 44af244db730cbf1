package sink

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// HTTPMetrics are the metrics every HTTP sink shares, told apart by the "sink" label:
// auditpipe_sink_http_requests_total{sink,code} (code "error" when no answer came),
// auditpipe_sink_http_request_duration_seconds{sink}, auditpipe_sink_http_sent_bytes_total{sink}
// (bodies as on the wire) and auditpipe_sink_blocked{sink}. They are safe for concurrent use.
type HTTPMetrics struct {
	requests *prometheus.CounterVec // curried with the sink; label code
	duration prometheus.Observer
	sent     prometheus.Counter
	// Blocked is 1 while the sink refuses every event until an operator acts, else 0.
	Blocked prometheus.Gauge
}

// NewHTTPMetrics returns the shared HTTP metrics of the sink named sink, registered with reg
// (nil: kept unregistered). Sinks registered with the same reg share the collectors.
func NewHTTPMetrics(reg prometheus.Registerer, sink string) (*HTTPMetrics, error) {
	sinkLabel := []string{"sink"}
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "auditpipe_sink_http_requests_total",
		Help: `HTTP requests a sink made, by status code ("error" when no answer came).`,
	}, []string{"sink", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "auditpipe_sink_http_request_duration_seconds",
		Help:    "Time from sending an HTTP request of a sink to its answer or failure.",
		Buckets: prometheus.DefBuckets,
	}, sinkLabel)
	sent := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "auditpipe_sink_http_sent_bytes_total",
		Help: "Request body bytes a sink sent over HTTP, as on the wire (after compression).",
	}, sinkLabel)
	blocked := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "auditpipe_sink_blocked",
		Help: "1 while a sink refuses every event until an operator acts (e.g. Datadog refused the API key), else 0.",
	}, sinkLabel)
	if reg != nil {
		var err error
		if requests, err = Register(reg, requests); err != nil {
			return nil, err
		}
		if duration, err = Register(reg, duration); err != nil {
			return nil, err
		}
		if sent, err = Register(reg, sent); err != nil {
			return nil, err
		}
		if blocked, err = Register(reg, blocked); err != nil {
			return nil, err
		}
	}
	labels := prometheus.Labels{"sink": sink}
	m := &HTTPMetrics{}
	var err error
	if m.requests, err = requests.CurryWith(labels); err != nil {
		return nil, fmt.Errorf("sink: metrics: %w", err)
	}
	if m.duration, err = duration.GetMetricWith(labels); err != nil {
		return nil, fmt.Errorf("sink: metrics: %w", err)
	}
	if m.sent, err = sent.GetMetricWith(labels); err != nil {
		return nil, fmt.Errorf("sink: metrics: %w", err)
	}
	if m.Blocked, err = blocked.GetMetricWith(labels); err != nil {
		return nil, fmt.Errorf("sink: metrics: %w", err)
	}
	return m, nil
}

// Observe records one request attempt: its status (0 when no answer came), how long it took
// and the body bytes sent.
func (m *HTTPMetrics) Observe(status int, took time.Duration, sent int64) {
	code := "error"
	if status > 0 {
		code = strconv.Itoa(status)
	}
	m.requests.WithLabelValues(code).Inc()
	m.duration.Observe(took.Seconds())
	if sent > 0 {
		m.sent.Add(float64(sent))
	}
}

// Transport wraps next (http.DefaultTransport when nil) so that every request it carries is
// observed: status, latency and ContentLength.
func (m *HTTPMetrics) Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return meteredTransport{next: next, m: m}
}

type meteredTransport struct {
	next http.RoundTripper
	m    *HTTPMetrics
}

func (t meteredTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	status := 0
	if err == nil {
		status = resp.StatusCode
	}
	t.m.Observe(status, time.Since(start), req.ContentLength)
	return resp, err
}

// Register registers c with reg, or returns the collector reg already holds under the same
// description (another sink's, or another Sink of the same kind), so that they share it.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, fmt.Errorf("sink: metrics: %w", err)
}
