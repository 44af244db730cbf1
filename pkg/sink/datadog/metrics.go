package datadog

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/auditpipe/auditpipe/pkg/config"
)

// Names and help of the metrics every HTTP sink shares, told apart by the "sink" label. They
// must match the other sinks' (sink/fluentd) exactly: a Registerer refuses a second metric
// of the same name with another help or other labels.
const (
	metricRequests = "auditpipe_sink_http_requests_total"
	helpRequests   = `HTTP requests a sink made, by status code ("error" when no answer came).`
	metricDuration = "auditpipe_sink_http_request_duration_seconds"
	helpDuration   = "Time from sending an HTTP request of a sink to its answer or failure."
	metricSent     = "auditpipe_sink_http_sent_bytes_total"
	helpSent       = "Request body bytes a sink sent over HTTP, as on the wire (after compression)."
	metricBlocked  = "auditpipe_sink_blocked"
	helpBlocked    = "1 while a sink refuses every event until an operator acts (e.g. Datadog refused the API key), else 0."
)

// metrics are the sink's Prometheus metrics, the shared ones curried with sink="datadog".
// They are safe for concurrent use.
type metrics struct {
	responses *prometheus.CounterVec // code: the HTTP status, or "error" when none came
	duration  prometheus.Observer
	sent      prometheus.Counter // request body bytes as sent (gzip)
	blocked   prometheus.Gauge
	payload   prometheus.Counter // JSON bytes before compression
	items     prometheus.Observer
	oversize  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	const ns, sub = "auditpipe", "sink_datadog"
	sinkLabel := []string{"sink"}
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricRequests, Help: helpRequests},
		[]string{"sink", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: metricDuration, Help: helpDuration,
		Buckets: prometheus.DefBuckets}, sinkLabel)
	sent := prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricSent, Help: helpSent}, sinkLabel)
	blocked := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: metricBlocked, Help: helpBlocked}, sinkLabel)
	payload := prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
		Name: "payload_bytes_total", Help: "JSON bytes of the requests to the Datadog Logs intake, before compression."})
	items := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub,
		Name: "request_items", Help: "Log items per request to the Datadog Logs intake.",
		Buckets: []float64{1, 10, 50, 100, 250, 500, 750, 1000}})
	oversize := prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
		Name: "oversize_events_total", Help: "Events over Datadog's 1 MB item limit, sent as a marked truncated record and rejected to the dead-letter queue."})

	if reg != nil {
		var err error
		if requests, err = register(reg, requests); err != nil {
			return nil, err
		}
		if duration, err = register(reg, duration); err != nil {
			return nil, err
		}
		if sent, err = register(reg, sent); err != nil {
			return nil, err
		}
		if blocked, err = register(reg, blocked); err != nil {
			return nil, err
		}
		if payload, err = register(reg, payload); err != nil {
			return nil, err
		}
		if items, err = register(reg, items); err != nil {
			return nil, err
		}
		if oversize, err = register(reg, oversize); err != nil {
			return nil, err
		}
	}
	labels := prometheus.Labels{"sink": config.SinkDatadog}
	m := &metrics{payload: payload, items: items, oversize: oversize}
	var err error
	if m.responses, err = requests.CurryWith(labels); err != nil {
		return nil, fmt.Errorf("datadog: metrics: %w", err)
	}
	if m.duration, err = duration.GetMetricWith(labels); err != nil {
		return nil, fmt.Errorf("datadog: metrics: %w", err)
	}
	if m.sent, err = sent.GetMetricWith(labels); err != nil {
		return nil, fmt.Errorf("datadog: metrics: %w", err)
	}
	if m.blocked, err = blocked.GetMetricWith(labels); err != nil {
		return nil, fmt.Errorf("datadog: metrics: %w", err)
	}
	return m, nil
}

// register registers c with reg, or returns the collector already registered in its place
// (another datadog Sink's, or another sink's shared metric), so that those share it.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, fmt.Errorf("datadog: metrics: %w", err)
}

// meteredTransport counts what goes over the wire: status codes, latency and body bytes of
// every HTTP request the client makes.
type meteredTransport struct {
	next http.RoundTripper
	m    *metrics
}

func (t meteredTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	t.m.duration.Observe(time.Since(start).Seconds())
	if req.ContentLength > 0 {
		t.m.sent.Add(float64(req.ContentLength))
	}
	code := "error"
	if err == nil {
		code = strconv.Itoa(resp.StatusCode)
	}
	t.m.responses.WithLabelValues(code).Inc()
	return resp, err
}

// metered returns a copy of c whose Transport counts into m.
func metered(c *http.Client, m *metrics) *http.Client {
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	out := *c
	out.Transport = meteredTransport{next: next, m: m}
	return &out
}
