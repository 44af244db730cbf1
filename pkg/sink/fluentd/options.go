package fluentd

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

const (
	// DefaultTimeout is how long one POST may take by default, from connecting to reading the
	// answer: teleport-event-handler's 30 seconds.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxRequestBytes is the default largest request body before compression: a
	// quarter of in_http's default body_size_limit (32 MiB), so that a batch rarely meets a
	// 413 at all.
	DefaultMaxRequestBytes = 8 << 20
)

// Option changes how [New] builds a Sink.
type Option func(*options)

type options struct {
	logger          *slog.Logger
	registerer      prometheus.Registerer
	timeout         time.Duration
	gzip            bool
	maxRequestBytes int
}

func defaultOptions() options {
	return options{logger: slog.New(slog.DiscardHandler), timeout: DefaultTimeout, maxRequestBytes: DefaultMaxRequestBytes}
}

// WithLogger sets the logger of the Sink's background work: the reloads of the TLS files, and
// the failures to reload them (default: discard). Deliver logs nothing: its results say it all.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithRegisterer registers the Sink's metrics with r (see the package documentation). A
// metric r already holds from another Sink is shared. Without this option the metrics are
// kept but not exported.
func WithRegisterer(r prometheus.Registerer) Option {
	return func(o *options) { o.registerer = r }
}

// WithTimeout bounds one POST, from connecting to reading the answer; d must be positive.
// The Deliver ctx bounds it too.
func WithTimeout(d time.Duration) Option {
	return func(o *options) { o.timeout = d }
}

// WithGzip compresses request bodies (Content-Encoding: gzip), which in_http decodes. It costs
// CPU to save bandwidth: worth it when Fluentd is far away.
func WithGzip() Option {
	return func(o *options) { o.gzip = true }
}

// WithMaxRequestBytes caps a request body, before compression, at n bytes: a batch is sent in
// as many requests as it takes. An event larger than n alone goes in a request of its own.
// Keep n below Fluentd's body_size_limit; a 413 is handled anyway, by splitting.
func WithMaxRequestBytes(n int) Option {
	return func(o *options) { o.maxRequestBytes = n }
}
