package demo

import (
	"errors"
	"fmt"
	"time"
)

// Defaults of Options.
const (
	DefaultEvents      = 20_000
	DefaultHistory     = 72 * time.Hour
	DefaultRate        = 20.0
	DefaultShippers    = 2
	DefaultAdminListen = "127.0.0.1:8080"
	DefaultInterval    = 2 * time.Second
	// maxEvents bounds the simulated log: it is generated in memory up front.
	maxEvents = 10_000_000
	// maxShippers bounds the shipper replicas of one machine.
	maxShippers = 16
)

// Options configure the demo. The zero value of every field means its default.
type Options struct {
	// Duration stops Run after this long; 0 runs until its context ends (Ctrl-C).
	Duration time.Duration
	// Events is the number of historical events in the simulated audit log
	// (DefaultEvents), spread over History before the start.
	Events int
	// History is how far back the simulated log goes (DefaultHistory: 3 days).
	History time.Duration
	// Since is how far back from the start ingest exports (the start-time); 0 means the
	// whole History. A shorter one leaves older events for a start-time reset to reach.
	Since time.Duration
	// Rate is how many live events the simulated Teleport adds per second (DefaultRate); a
	// negative Rate adds none.
	Rate float64
	// Shippers is the number of shipper replicas (DefaultShippers).
	Shippers int
	// RedisAddr is the Redis to use, host:port, shared with others: the demo keeps its keys
	// under a prefix of its own and deletes them on Stop. Empty: $REDIS_ADDR, else a
	// redis-server from PATH started on a free port in the demo's temporary directory (and
	// stopped on Stop), else Start fails saying how to get one.
	RedisAddr string
	// AdminListen is the admin API's address (DefaultAdminListen). When it is taken the API
	// listens on a free port of the same host instead, and Run says so.
	AdminListen string
	// Interval is how often Run prints progress (DefaultInterval).
	Interval time.Duration
	// LogFile receives the logs of every engine and server (JSON lines). Empty: engines.log
	// in the demo's temporary directory, removed with it on Stop.
	LogFile string
}

// withDefaults fills in the defaults and checks the options.
func (o Options) withDefaults() (Options, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if o.Duration < 0 {
		bad("duration %v is negative", o.Duration)
	}
	if o.Events < 0 || o.Events > maxEvents {
		bad("events %d: want 0 (the default, %d) to %d", o.Events, DefaultEvents, maxEvents)
	}
	if o.History < 0 {
		bad("history %v is negative", o.History)
	}
	if o.Since < 0 {
		bad("since %v is negative", o.Since)
	}
	if o.Rate != o.Rate { // NaN
		bad("rate is not a number")
	}
	if o.Shippers < 0 || o.Shippers > maxShippers {
		bad("shippers %d: want 0 (the default, %d) to %d", o.Shippers, DefaultShippers, maxShippers)
	}
	if o.Interval < 0 {
		bad("interval %v is negative", o.Interval)
	}
	if o.Events == 0 {
		o.Events = DefaultEvents
	}
	if o.History == 0 {
		o.History = DefaultHistory
	}
	if o.History < time.Second {
		bad("history %v: want at least 1s", o.History)
	}
	if o.Since == 0 {
		o.Since = o.History
	}
	if o.Rate == 0 {
		o.Rate = DefaultRate
	}
	if o.Shippers == 0 {
		o.Shippers = DefaultShippers
	}
	if o.AdminListen == "" {
		o.AdminListen = DefaultAdminListen
	}
	if o.Interval == 0 {
		o.Interval = DefaultInterval
	}
	if err := errors.Join(errs...); err != nil {
		return o, fmt.Errorf("demo: %w", err)
	}
	return o, nil
}
