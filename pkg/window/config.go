package window

import (
	"fmt"
	"strings"
	"time"
)

// Clock tells the time. Every time this package stores or compares (lease expiry, ready times,
// session backoff) comes from the Store's Clock, never from Redis: replicas need clocks in step
// (NTP) for leases to expire when expected, but not for safety, which fencing tokens give.
// Tests pass a Clock they move by hand.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Config tunes a Store. Start from DefaultConfig.
type Config struct {
	// KeyPrefix starts every key (auditpipe's `redis.key-prefix`). It must not contain "{" or
	// "}": the hash tag that keeps the keys in one Cluster slot follows it (see doc.go).
	KeyPrefix string
	// LeaseTTL is how long a claim or a renewal holds a window or session job. Holders renew
	// well before it ends (every LeaseTTL/3); an unrenewed lease becomes claimable by others.
	LeaseTTL time.Duration
	// SettleGrace is how long after a search window's end its settle pass starts: a window
	// whose first pass began before To+SettleGrace is read once more from then, for events the
	// backend surfaced late. Zero turns settle passes off.
	SettleGrace time.Duration
	// SessionRetry paces session jobs whose recording is missing.
	SessionRetry Backoff
	// Clock is the time source; nil means the system clock.
	Clock Clock
}

// Backoff paces the retries of a session job: the nth retry waits Initial·2ⁿ⁻¹, at most Max,
// and the job fails once GiveUpAfter has passed since it was enqueued.
type Backoff struct {
	Initial     time.Duration
	Max         time.Duration
	GiveUpAfter time.Duration
}

// DefaultConfig returns the defaults: prefix "auditpipe:", 30 s leases, a settle pass 10 min
// after a window's end, and session retries from 30 s up to 15 min apart for 48 h.
func DefaultConfig() Config {
	return Config{
		KeyPrefix:   "auditpipe:",
		LeaseTTL:    30 * time.Second,
		SettleGrace: 10 * time.Minute,
		SessionRetry: Backoff{
			Initial:     30 * time.Second,
			Max:         15 * time.Minute,
			GiveUpAfter: 48 * time.Hour,
		},
	}
}

// Validate reports the first setting that cannot work, as an error matching ErrInvalid.
func (c Config) Validate() error {
	switch {
	case c.KeyPrefix == "":
		return fmt.Errorf("%w: key prefix is empty", ErrInvalid)
	case strings.ContainsAny(c.KeyPrefix, "{}"):
		return fmt.Errorf("%w: key prefix %q contains { or }", ErrInvalid, c.KeyPrefix)
	case c.LeaseTTL < time.Millisecond:
		return fmt.Errorf("%w: lease TTL %v is under 1ms", ErrInvalid, c.LeaseTTL)
	case c.SettleGrace < 0:
		return fmt.Errorf("%w: settle grace %v is negative", ErrInvalid, c.SettleGrace)
	case c.SessionRetry.Initial <= 0:
		return fmt.Errorf("%w: session retry initial delay %v is not positive", ErrInvalid, c.SessionRetry.Initial)
	case c.SessionRetry.Max < c.SessionRetry.Initial:
		return fmt.Errorf("%w: session retry max delay %v is under the initial %v", ErrInvalid, c.SessionRetry.Max, c.SessionRetry.Initial)
	case c.SessionRetry.GiveUpAfter <= 0:
		return fmt.Errorf("%w: session give-up time %v is not positive", ErrInvalid, c.SessionRetry.GiveUpAfter)
	}
	return nil
}

// delay is how long the retry after the given number of failed attempts waits.
func (b Backoff) delay(attempts int64) time.Duration {
	d := b.Initial
	for i := int64(0); i < attempts && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}
