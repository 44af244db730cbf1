package fluentd

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/auditpipe/auditpipe/pkg/sink"
)

// newMetrics returns the metrics every HTTP sink shares, with sink="fluentd".
func newMetrics(reg prometheus.Registerer) (*sink.HTTPMetrics, error) {
	return sink.NewHTTPMetrics(reg, Name)
}
