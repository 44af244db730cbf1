package lock

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/auditpipe/auditpipe/pkg/config"
)

// ErrConfig marks a Config that New refuses.
var ErrConfig = errors.New("lock: invalid configuration")

// Config is what the Sink counts and how it locks: teleport-event-handler's lock-* keys and
// auditpipe's redis.key-prefix. Use [ConfigFrom] to read it from a [config.Config].
type Config struct {
	// KeyPrefix starts every Redis key (redis.key-prefix). It must not be empty or hold "{"
	// or "}": the hash tag that keeps the keys in one Cluster slot follows it.
	KeyPrefix string
	// FailedAttempts is lock-failed-attempts-count: a user+login is locked at the failed
	// login that makes more than FailedAttempts within Period. At least 1.
	FailedAttempts int
	// Period is lock-period, the length of the window failed logins are counted in. At least
	// a millisecond, the resolution of event times.
	Period time.Duration
	// LockFor is lock-for, how long a lock lasts from when it is issued; zero issues locks that
	// do not expire. Not negative.
	LockFor time.Duration
}

// ConfigFrom returns the lock settings of c: its lock-failed-attempts-count, lock-period,
// lock-for and redis.key-prefix.
func ConfigFrom(c *config.Config) Config {
	return Config{
		KeyPrefix:      c.Redis.KeyPrefix,
		FailedAttempts: c.LockFailedAttemptsCount,
		Period:         c.LockPeriod,
		LockFor:        c.LockFor,
	}
}

// Validate reports every setting New cannot work with, as one error matching ErrConfig.
func (c Config) Validate() error {
	var problems []string
	switch {
	case c.KeyPrefix == "":
		problems = append(problems, "key prefix is empty")
	case strings.ContainsAny(c.KeyPrefix, "{}"):
		problems = append(problems, fmt.Sprintf("key prefix %q holds { or }", c.KeyPrefix))
	}
	if c.FailedAttempts < 1 {
		problems = append(problems, fmt.Sprintf("lock-failed-attempts-count must be at least 1, got %d", c.FailedAttempts))
	}
	if c.Period < time.Millisecond {
		problems = append(problems, fmt.Sprintf("lock-period must be at least 1ms, got %s", c.Period))
	}
	if c.LockFor < 0 {
		problems = append(problems, fmt.Sprintf("lock-for must not be negative, got %s", c.LockFor))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrConfig, strings.Join(problems, "; "))
	}
	return nil
}

// issuedTTL is how long a target stays marked locked after its lock was issued: one Period,
// or LockFor when the lock ends sooner, so that failed logins after a lock has expired can
// lock again.
func (c Config) issuedTTL() time.Duration {
	if c.LockFor > 0 && c.LockFor < c.Period {
		return c.LockFor
	}
	return c.Period
}
