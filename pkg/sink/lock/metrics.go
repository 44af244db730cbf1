package lock

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Values of the "op" label of auditpipe_lock_errors_total.
const (
	opRedis    = "redis"
	opTeleport = "teleport"
)

// metrics are the Sink's Prometheus metrics; see the package documentation.
type metrics struct {
	failedLogins *prometheus.CounterVec // by result: counted, duplicate, late
	locks        prometheus.Counter
	errors       *prometheus.CounterVec // by op: redis, teleport
}

// newMetrics creates the metrics and registers them with reg (nil: unregistered). A metric
// reg already holds from another Sink is shared.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		failedLogins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auditpipe_lock_failed_logins_total",
			Help: "Failed logins the lock sink read, by result: counted, duplicate (counted before), late (too old to count).",
		}, []string{"result"}),
		locks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "auditpipe_lock_locks_issued_total",
			Help: "Teleport locks the lock sink issued with UpsertLock.",
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auditpipe_lock_errors_total",
			Help: "Failed calls of the lock sink, by op: redis (counting, settling) or teleport (UpsertLock).",
		}, []string{"op"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.failedLogins, err = register(reg, m.failedLogins); err != nil {
		return nil, err
	}
	if m.locks, err = register(reg, m.locks); err != nil {
		return nil, err
	}
	if m.errors, err = register(reg, m.errors); err != nil {
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
	if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}
