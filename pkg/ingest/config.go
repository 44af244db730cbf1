package ingest

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/stream"
	"github.com/auditpipe/auditpipe/pkg/window"
)

// ErrInvalidConfig marks a Config that New refuses; the detail names the field.
var ErrInvalidConfig = errors.New("ingest: invalid config")

// Config is what an Engine does. Start from DefaultConfig or FromConfig.
type Config struct {
	// Owner names this replica in leases and in the planner election: unique per process
	// (a pod name), without "#", "{" or "}". Workers hold leases as "<Owner>/w<n>" and
	// "<Owner>/s<n>".
	Owner string
	// Mode forces search or export mode; ModeAuto probes Teleport. It applies to an epoch
	// whose mode is not recorded yet (see doc.go).
	Mode Mode
	// Start is the configured start-time, applied on the very first start only; zero means
	// the time of that start.
	Start time.Time
	// Timeout is the poll interval: planning rounds, the tail's polls, claims when idle.
	Timeout time.Duration
	// Batch is the page size: events asked of Teleport per search page, and events per
	// publish and commit on the export and session paths.
	Batch int
	// WindowSize is the longest search window; see doc.go for why windows may be shorter.
	WindowSize time.Duration
	// Types, when not empty, are the only audit event types exported; SkipEventTypes are
	// audit types never exported; SkipSessionTypes are recording event types never exported
	// (their index still advances). A session.upload event that the audit filters drop does
	// not queue its recording, as with teleport-event-handler.
	Types, SkipEventTypes, SkipSessionTypes []string
	// Concurrency is how many windows this replica reads at once (windows still open, the
	// tail, are followed beside them, up to as many again); SessionConcurrency is how many
	// recordings it streams at once.
	Concurrency, SessionConcurrency int
	// DryRun reads and counts everything but publishes nothing, and keeps its window state
	// under a scratch key prefix that Run deletes when it returns, so the real cursors never
	// move. The pages that would be published are logged (each event at debug level).
	DryRun bool
	// ExitOnLastEvent makes Run plan once, read every window up to the time Run started and
	// every queued recording, and return nil: no tail following and no settle passes.
	ExitOnLastEvent bool
	// Window configures the Redis state: key prefix, lease TTL (workers renew every third of
	// it), settle grace and session retries. FromConfig takes the lease TTL and settle grace
	// from ingest.lease-ttl and ingest.settle-grace.
	Window window.Config
	// Stream defines the events stream (Ensure) and so its duplicate window.
	Stream stream.Options
	// MaxPending bounds the messages published and not yet acknowledged by this replica.
	MaxPending int
	// LeaderTTL is how long the planner's leadership lasts unrenewed.
	LeaderTTL time.Duration
	// DrainTimeout bounds the graceful stop: the page in hand must be published and
	// committed within it.
	DrainTimeout time.Duration
	// ExportRecentDays is how many days before today the export planner lists again every
	// round for chunks that appear late (teleport-event-handler polls two).
	ExportRecentDays int
	// RetryInitial and RetryMax bound the backoff between attempts at a Teleport call that
	// failed transiently.
	RetryInitial, RetryMax time.Duration
}

// DefaultConfig returns the defaults of teleport-event-handler's keys (config.Default), the
// window package's, and the engine's own: 15 s planner leadership, a 10 s drain, two recent
// export days, Teleport retries from 250 ms to 30 s.
func DefaultConfig() Config {
	return FromConfig(config.Default(), "")
}

// FromConfig maps the configuration of the ingest service to an engine's, as owner: the
// top-level keys, [ingest] (lease TTL and settle grace), redis.key-prefix, and the stream
// options of [nats] as every service maps them (stream.OptionsFromConfig).
func FromConfig(c *config.Config, owner string) Config {
	w := window.DefaultConfig()
	if c.Redis.KeyPrefix != "" {
		w.KeyPrefix = c.Redis.KeyPrefix
	}
	w.LeaseTTL, w.SettleGrace = c.Ingest.LeaseTTL, c.Ingest.SettleGrace
	return Config{
		Owner:              owner,
		Start:              c.StartTime,
		Timeout:            c.Timeout,
		Batch:              c.Batch,
		WindowSize:         c.WindowSize,
		Types:              c.Types,
		SkipEventTypes:     c.SkipEventTypes,
		SkipSessionTypes:   c.SkipSessionTypes,
		Concurrency:        c.Concurrency,
		SessionConcurrency: c.Concurrency,
		DryRun:             c.DryRun,
		ExitOnLastEvent:    c.ExitOnLastEvent,
		Window:             w,
		Stream:             stream.OptionsFromConfig(c.NATS),
		MaxPending:         stream.DefaultMaxPending,
		LeaderTTL:          15 * time.Second,
		DrainTimeout:       10 * time.Second,
		ExportRecentDays:   2,
		RetryInitial:       250 * time.Millisecond,
		RetryMax:           30 * time.Second,
	}
}

// Validate reports every setting New cannot use, each wrapping ErrInvalidConfig.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}
	if c.Owner == "" || strings.ContainsAny(c.Owner, "#{}") {
		bad("owner %q: want a non-empty id without #, { or }", c.Owner)
	}
	if _, err := parseMode(string(c.Mode)); err != nil {
		bad("%v", err)
	}
	if c.Timeout <= 0 {
		bad("timeout %v is not positive", c.Timeout)
	}
	if c.Batch < 1 || c.Batch > config.MaxBatch {
		bad("batch %d: want 1 to %d", c.Batch, config.MaxBatch)
	}
	if c.WindowSize < time.Millisecond {
		bad("window size %v is under 1ms", c.WindowSize)
	}
	if c.Concurrency < 1 || c.SessionConcurrency < 1 {
		bad("concurrency %d, session concurrency %d: want at least 1", c.Concurrency, c.SessionConcurrency)
	}
	if err := c.Window.Validate(); err != nil {
		bad("window: %v", err)
	}
	if err := c.Stream.Validate(); err != nil {
		bad("stream: %v", err)
	}
	if g := c.Window.SettleGrace; g > 0 && c.duplicateWindow() <= g {
		bad("duplicate window %v does not exceed the settle grace %v, so settle passes would store duplicates",
			c.duplicateWindow(), g)
	}
	if c.searchSpan() < time.Millisecond {
		bad("search windows of %v (see doc.go) are under 1ms", c.searchSpan())
	}
	if c.MaxPending < 1 {
		bad("max pending %d is under 1", c.MaxPending)
	}
	if c.LeaderTTL < time.Millisecond {
		bad("leader TTL %v is under 1ms", c.LeaderTTL)
	}
	if c.DrainTimeout <= 0 {
		bad("drain timeout %v is not positive", c.DrainTimeout)
	}
	if c.ExportRecentDays < 0 {
		bad("export recent days %d is negative", c.ExportRecentDays)
	}
	if c.RetryInitial <= 0 || c.RetryMax < c.RetryInitial {
		bad("retry backoff %v to %v", c.RetryInitial, c.RetryMax)
	}
	return errors.Join(errs...)
}

// duplicateWindow is the stream's duplicate window, with the stream package's default.
func (c Config) duplicateWindow() time.Duration {
	if c.Stream.DuplicateWindow == 0 {
		return stream.DefaultDuplicateWindow
	}
	return c.Stream.DuplicateWindow
}

// searchSpan is the length of the search windows the planner creates (see doc.go).
func (c Config) searchSpan() time.Duration {
	span := c.WindowSize
	if g := c.Window.SettleGrace; g > 0 {
		span = min(span, (c.duplicateWindow()-g)/2)
	}
	return span
}

// now is the time of the Window clock, which leases and ready times use too.
func (c Config) now() time.Time {
	if c.Window.Clock != nil {
		return c.Window.Clock.Now()
	}
	return time.Now()
}
