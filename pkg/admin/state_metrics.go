package admin

import (
	"context"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/replicas"
)

// stateTimeout bounds the reads of one scrape of the state metrics, well within a
// Prometheus scrape timeout.
const stateTimeout = 3 * time.Second

// stateCollector exports, at every scrape, the pipeline's shared state that only the admin
// service reads: the live replicas of each service in the replicas register
// (auditpipe_admin_replicas{component}) and the dead letters held in the DLQ stream by sink
// (auditpipe_admin_dlq_messages{sink}). Every admin replica reports the same values. A
// read that fails (Redis or NATS away, the DLQ stream not created yet) leaves its metric
// out of that scrape rather than failing the scrape; the failure is logged at DEBUG.
type stateCollector struct {
	s        *Server
	replicas *prometheus.Desc
	dlq      *prometheus.Desc
}

func newStateCollector(s *Server) *stateCollector {
	return &stateCollector{
		s: s,
		replicas: prometheus.NewDesc("auditpipe_admin_replicas",
			"Live replicas in the replicas register by component (ingest, shipper, admin): those that beat within the last 15 s.",
			[]string{"component"}, nil),
		dlq: prometheus.NewDesc("auditpipe_admin_dlq_messages",
			"Dead letters held in the DLQ stream, by the sink that gave up on them.",
			[]string{"sink"}, nil),
	}
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.replicas
	ch <- c.dlq
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), stateTimeout)
	defer cancel()
	for _, component := range []string{replicas.ServiceIngest, replicas.ServiceShipper, replicas.ServiceAdmin} {
		live, err := c.s.registry.List(ctx, component)
		if err != nil {
			c.s.log.Debug("metrics: list replicas", "component", component, "err", err)
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.replicas, prometheus.GaugeValue, float64(len(live)), component)
	}
	counts, err := c.dlqCounts(ctx)
	if err != nil {
		c.s.log.Debug("metrics: count dead letters", "err", err)
		return
	}
	// Every sink has a series, 0 when it has no dead letters, so that dashboards and
	// alerts see an empty DLQ rather than no data.
	sinks := []string{config.SinkFluentd, config.SinkDatadog, config.SinkLock}
	for sink := range counts {
		if !slices.Contains(sinks, sink) {
			sinks = append(sinks, sink)
		}
	}
	for _, sink := range sinks {
		ch <- prometheus.MustNewConstMetric(c.dlq, prometheus.GaugeValue, float64(counts[sink]), sink)
	}
}

func (c *stateCollector) dlqCounts(ctx context.Context) (map[string]uint64, error) {
	q, err := c.s.dlq.open(ctx)
	if err != nil {
		return nil, err
	}
	return q.Counts(ctx)
}
