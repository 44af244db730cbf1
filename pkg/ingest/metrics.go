package ingest

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/auditpipe/auditpipe/pkg/stream"
	"github.com/auditpipe/auditpipe/pkg/window"
)

// metrics are the engine's Prometheus metrics, all named auditpipe_ingest_*. Counters count
// this replica's work; the windows and sessions gauges are the shared counts in Redis, the
// same in every replica. In dry-run, "published" counts what would have been published.
type metrics struct {
	read           *prometheus.CounterVec // kind, type
	skipped        *prometheus.CounterVec // kind, type
	published      *prometheus.CounterVec // kind, type
	duplicates     *prometheus.CounterVec // kind
	large          prometheus.Counter
	pubRetries     prometheus.Counter
	ackLatency     prometheus.Histogram
	teleportErrors *prometheus.CounterVec // op, code, class
	windows        *prometheus.GaugeVec   // state
	sessions       *prometheus.GaugeVec   // state
	windowRuns     *prometheus.CounterVec // kind, outcome
	sessionRuns    *prometheus.CounterVec // outcome
	paused         prometheus.Gauge
	lag            prometheus.GaugeFunc
}

// Outcomes of a window or session job run, the "outcome" label.
const (
	outcomeDone      = "done"      // read to the end and completed
	outcomeParked    = "parked"    // exit-on-last-event: read up to the start, held until exit
	outcomeReleased  = "released"  // stopping or paused: released for another replica
	outcomeAbandoned = "abandoned" // lease lost or work cancelled: nothing more written
	outcomeFailed    = "failed"    // an error: released for another attempt
	outcomeRetry     = "retry"     // session job: recording missing or stream broken, retried later
	outcomeGivenUp   = "given_up"  // session job: given up on after its retries
)

func newMetrics(reg prometheus.Registerer, lag func() float64) (*metrics, error) {
	const ns, sub = "auditpipe", "ingest"
	m := &metrics{
		read: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "events_read_total", Help: "Events read from Teleport, by kind (audit, session) and type."},
			[]string{"kind", "type"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "events_skipped_total", Help: "Events read and dropped by the filters (types, skip-event-types, skip-session-types, window bounds), by kind and type."},
			[]string{"kind", "type"}),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "events_published_total", Help: "Events acknowledged by JetStream (stored or dropped as duplicates), by kind and type."},
			[]string{"kind", "type"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "events_duplicate_total", Help: "Published events JetStream dropped as duplicates of stored ones (repeated pages, settle passes), by kind."},
			[]string{"kind"}),
		large: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "events_large_total", Help: "Event bodies over the max payload, stored in the object store."}),
		pubRetries: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "publish_retries_total", Help: "Backoff waits of page publishes after transient JetStream failures."}),
		ackLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub,
			Name: "puback_latency_seconds", Help: "Time from publish to PubAck.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}),
		teleportErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "teleport_errors_total", Help: "Failed Teleport calls, by call, gRPC code and the engine's decision (retry, not_found, not_implemented, bad_cursor, fatal)."},
			[]string{"op", "code", "class"}),
		windows: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "windows", Help: "Windows of the current epoch by state, shared by every replica (pending includes those waiting for their settle pass)."},
			[]string{"state"}),
		sessions: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "sessions", Help: "Session recording jobs by state, shared by every replica (failed: given up on)."},
			[]string{"state"}),
		windowRuns: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "window_runs_total", Help: "Windows this replica held, by kind and how its hold ended."},
			[]string{"kind", "outcome"}),
		sessionRuns: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "session_runs_total", Help: "Session jobs this replica held, by how its hold ended."},
			[]string{"outcome"}),
		paused: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "paused", Help: "1 while an admin has paused ingest."}),
		lag: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "lag_seconds", Help: "Now minus the time of the newest audit event this replica delivered to the stream (0 before the first); across replicas, the smallest is the pipeline's lag."},
			lag),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.read, m.skipped, m.published, m.duplicates, m.large,
		m.pubRetries, m.ackLatency, m.teleportErrors, m.windows, m.sessions, m.windowRuns, m.sessionRuns,
		m.paused, m.lag} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("ingest: metrics (one Engine per Registerer): %w", err)
		}
	}
	return m, nil
}

// onAck is the Publisher's OnAck: the PubAck latency histogram.
func (m *metrics) onAck(a stream.Ack) { m.ackLatency.Observe(a.Latency.Seconds()) }

// onRetry is the Publisher's OnRetry.
func (m *metrics) onRetry(error, time.Duration) { m.pubRetries.Inc() }

// setCounts sets a state gauge from shared counts.
func setCounts(g *prometheus.GaugeVec, c window.Counts) {
	g.WithLabelValues(string(window.StatePending)).Set(float64(c.Pending))
	g.WithLabelValues(string(window.StateLeased)).Set(float64(c.Leased))
	g.WithLabelValues(string(window.StateDone)).Set(float64(c.Done))
	g.WithLabelValues(string(window.StateCancelled)).Set(float64(c.Cancelled))
	g.WithLabelValues(string(window.StateFailed)).Set(float64(c.Failed))
}
