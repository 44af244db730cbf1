package lock

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
)

// Option changes how [New] builds a Sink.
type Option func(*options)

type options struct {
	registerer prometheus.Registerer
	logger     *slog.Logger
}

// WithRegisterer registers the Sink's metrics with r (see the package documentation). A
// metric r already holds from another Sink is shared. Without this option the metrics are
// kept but not exported.
func WithRegisterer(r prometheus.Registerer) Option {
	return func(o *options) { o.registerer = r }
}

// WithLogger sets the logger that records each lock issued (info) and each claim the Sink
// could not settle in Redis (warning). Default: discard.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}
