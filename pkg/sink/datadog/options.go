package datadog

import (
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Option changes how [New] builds a Sink.
type Option func(*options)

type options struct {
	registerer prometheus.Registerer
	logger     *slog.Logger
	httpClient *http.Client
}

// WithRegisterer registers the sink's metrics (see the package documentation) with reg.
// Sinks built with the same Registerer share their metrics. Without it the metrics are kept
// but not exported.
func WithRegisterer(reg prometheus.Registerer) Option {
	return func(o *options) { o.registerer = reg }
}

// WithLogger is where the sink logs becoming blocked (an ERROR with alert=true) and
// unblocked; slog.Default() without it. It logs nothing per batch.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// WithHTTPClient sends requests through c: its Transport (TLS roots for a TLS-intercepting
// proxy, a proxy function) and its Timeout apply. The sink wraps a copy's Transport with its
// metrics and never changes c. Without it the sink uses its own keep-alive pool that honours
// HTTPS_PROXY, with a 60 s timeout per request.
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) { o.httpClient = c }
}

// defaultHTTPClient is the client without WithHTTPClient: net/http's default transport
// settings, more idle connections to the one intake host (concurrent batches reuse them),
// and a timeout that ends a request the shipper's ctx would let hang.
func defaultHTTPClient() *http.Client {
	return &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			MaxIdleConnsPerHost:   32,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
	}
}
