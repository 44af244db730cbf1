package admin

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
)

// httpMetrics are the API's Prometheus metrics, labelled by chi route pattern (not path, so
// ids do not multiply series; "unmatched" for 404s), method and status code.
type httpMetrics struct {
	requests *prometheus.CounterVec   // route, method, code
	duration *prometheus.HistogramVec // route, method
}

// newHTTPMetrics makes the metrics and registers them on reg (when not nil). Servers that
// share a Registerer share the metrics.
func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	const ns, sub = "auditpipe", "admin"
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "http_requests_total", Help: "Admin API requests answered, by route pattern, method and status code."},
			[]string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub,
			Name: "http_request_duration_seconds", Help: "Admin API request durations, by route pattern and method.",
			Buckets: prometheus.DefBuckets},
			[]string{"route", "method"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.requests, err = register(reg, m.requests); err != nil {
		return nil, err
	}
	if m.duration, err = register(reg, m.duration); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c on reg, or returns the collector of the same description registered
// before.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	if err != nil {
		var zero C
		return zero, fmt.Errorf("admin: metrics: %w", err)
	}
	return c, nil
}

// measure counts and times every request.
func (m *httpMetrics) measure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		route := routePattern(r)
		m.requests.WithLabelValues(route, r.Method, strconv.Itoa(statusOf(ww))).Inc()
		m.duration.WithLabelValues(route, r.Method).Observe(time.Since(start).Seconds())
	})
}
