package fluentd

import (
	"errors"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric names, help and labels are shared by every HTTP sink, "sink" telling them apart:
// they must match sink/datadog's exactly, or a Registerer refuses the second sink's.
const (
	metricRequests = "auditpipe_sink_http_requests_total"
	metricDuration = "auditpipe_sink_http_request_duration_seconds"
	metricBytes    = "auditpipe_sink_http_sent_bytes_total"
	sinkLabel      = "sink"
	codeLabel      = "code"
)

// metrics are the Sink's Prometheus metrics, curried with sink="fluentd".
type metrics struct {
	requests *prometheus.CounterVec
	duration prometheus.Observer
	bytes    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: metricRequests,
		Help: `HTTP requests a sink made, by status code ("error" when no answer came).`,
	}, []string{sinkLabel, codeLabel})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    metricDuration,
		Help:    "Time from sending an HTTP request of a sink to its answer or failure.",
		Buckets: prometheus.DefBuckets,
	}, []string{sinkLabel})
	bytes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: metricBytes,
		Help: "Request body bytes a sink sent over HTTP, as on the wire (after compression).",
	}, []string{sinkLabel})
	if reg != nil {
		var err error
		if requests, err = register(reg, requests); err != nil {
			return nil, err
		}
		if duration, err = register(reg, duration); err != nil {
			return nil, err
		}
		if bytes, err = register(reg, bytes); err != nil {
			return nil, err
		}
	}
	labels := prometheus.Labels{sinkLabel: Name}
	m := &metrics{}
	var err error
	if m.requests, err = requests.CurryWith(labels); err != nil {
		return nil, err
	}
	if m.duration, err = duration.GetMetricWith(labels); err != nil {
		return nil, err
	}
	if m.bytes, err = bytes.GetMetricWith(labels); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c with reg, or returns the collector reg already holds under the same
// description.
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
	return c, err
}

// observe records one request attempt: its status (0 when no answer came), how long it took
// and the bytes sent.
func (m *metrics) observe(status int, took time.Duration, sent int) {
	code := "error"
	if status > 0 {
		code = strconv.Itoa(status)
	}
	m.requests.WithLabelValues(code).Inc()
	m.duration.Observe(took.Seconds())
	m.bytes.Add(float64(sent))
}
