package lock

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/config"
)

func TestLockConfigValidate(t *testing.T) {
	good := Config{KeyPrefix: "auditpipe:", FailedAttempts: 3, Period: time.Minute}
	tests := []struct {
		name    string
		given   func(c *Config)
		wantErr string
	}{
		{name: "defaults", given: func(*Config) {}},
		{name: "lock for an hour", given: func(c *Config) { c.LockFor = time.Hour }},
		{name: "one attempt, one millisecond", given: func(c *Config) { c.FailedAttempts, c.Period = 1, time.Millisecond }},
		{name: "empty prefix", given: func(c *Config) { c.KeyPrefix = "" }, wantErr: "key prefix is empty"},
		{name: "prefix with a brace", given: func(c *Config) { c.KeyPrefix = "a{b}:" }, wantErr: "holds { or }"},
		{name: "no attempts", given: func(c *Config) { c.FailedAttempts = 0 }, wantErr: "lock-failed-attempts-count"},
		{name: "no period", given: func(c *Config) { c.Period = 0 }, wantErr: "lock-period"},
		{name: "sub-millisecond period", given: func(c *Config) { c.Period = time.Microsecond }, wantErr: "lock-period"},
		{name: "negative lock-for", given: func(c *Config) { c.LockFor = -time.Second }, wantErr: "lock-for"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.given(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate = %v, want ErrConfig about %q", err, tt.wantErr)
			}
		})
	}
}

func TestLockConfigFrom(t *testing.T) {
	c := config.Default()
	c.LockFailedAttemptsCount, c.LockPeriod, c.LockFor, c.Redis.KeyPrefix = 5, 2*time.Minute, time.Hour, "p:"
	want := Config{KeyPrefix: "p:", FailedAttempts: 5, Period: 2 * time.Minute, LockFor: time.Hour}
	if got := ConfigFrom(c); got != want {
		t.Fatalf("ConfigFrom = %+v, want %+v", got, want)
	}
	if err := ConfigFrom(config.Default()).Validate(); err != nil {
		t.Fatalf("the default configuration is invalid: %v", err)
	}
}

// TestLockIssuedTTL: a target stays marked locked for a period, or until its lock expires
// when that is sooner.
func TestLockIssuedTTL(t *testing.T) {
	tests := []struct {
		period, lockFor, want time.Duration
	}{
		{time.Minute, 0, time.Minute},
		{time.Minute, time.Hour, time.Minute},
		{time.Hour, 10 * time.Minute, 10 * time.Minute},
	}
	for _, tt := range tests {
		c := Config{Period: tt.period, LockFor: tt.lockFor}
		if got := c.issuedTTL(); got != tt.want {
			t.Errorf("issuedTTL(period %v, lock-for %v) = %v, want %v", tt.period, tt.lockFor, got, tt.want)
		}
	}
}

func TestLockNewRefuses(t *testing.T) {
	e := newEnv(t, nil)
	if _, err := New(nil, e.teleport(t), e.config()); !errors.Is(err, ErrConfig) {
		t.Errorf("New without Redis = %v, want ErrConfig", err)
	}
	if _, err := New(e.rdb, nil, e.config()); !errors.Is(err, ErrConfig) {
		t.Errorf("New without Teleport = %v, want ErrConfig", err)
	}
	if _, err := New(e.rdb, e.teleport(t), Config{}); !errors.Is(err, ErrConfig) {
		t.Errorf("New with a zero Config = %v, want ErrConfig", err)
	}
}
