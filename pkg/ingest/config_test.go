package ingest_test

import (
	"errors"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/ingest"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	valid := ingest.DefaultConfig()
	valid.Owner = "ingest-0"
	tests := []struct {
		name    string
		given   func(*ingest.Config)
		wantErr bool
	}{
		{name: "defaults with an owner", given: func(*ingest.Config) {}},
		{name: "no owner", given: func(c *ingest.Config) { c.Owner = "" }, wantErr: true},
		{name: "owner with #", given: func(c *ingest.Config) { c.Owner = "a#1" }, wantErr: true},
		{name: "owner with a brace", given: func(c *ingest.Config) { c.Owner = "a{1}" }, wantErr: true},
		{name: "forced search", given: func(c *ingest.Config) { c.Mode = ingest.ModeSearch }},
		{name: "unknown mode", given: func(c *ingest.Config) { c.Mode = "bulk" }, wantErr: true},
		{name: "zero timeout", given: func(c *ingest.Config) { c.Timeout = 0 }, wantErr: true},
		{name: "zero batch", given: func(c *ingest.Config) { c.Batch = 0 }, wantErr: true},
		{name: "batch over Teleport's limit", given: func(c *ingest.Config) { c.Batch = 10_001 }, wantErr: true},
		{name: "no workers", given: func(c *ingest.Config) { c.Concurrency = 0 }, wantErr: true},
		{name: "no session workers", given: func(c *ingest.Config) { c.SessionConcurrency = 0 }, wantErr: true},
		{name: "duplicate window under the settle grace", given: func(c *ingest.Config) {
			c.Stream.DuplicateWindow = 5 * time.Minute
		}, wantErr: true},
		{name: "settle passes off, short duplicate window", given: func(c *ingest.Config) {
			c.Stream.DuplicateWindow, c.Window.SettleGrace = 5*time.Minute, 0
		}},
		{name: "bad lease TTL", given: func(c *ingest.Config) { c.Window.LeaseTTL = 0 }, wantErr: true},
		{name: "bad stream name", given: func(c *ingest.Config) { c.Stream.Name = "a.b" }, wantErr: true},
		{name: "no drain", given: func(c *ingest.Config) { c.DrainTimeout = 0 }, wantErr: true},
		{name: "negative recent days", given: func(c *ingest.Config) { c.ExportRecentDays = -1 }, wantErr: true},
		{name: "backoff upside down", given: func(c *ingest.Config) { c.RetryMax = c.RetryInitial / 2 }, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := valid
			tt.given(&c)
			err := c.Validate()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v; want error: %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ingest.ErrInvalidConfig) {
				t.Fatalf("Validate() = %v; want ErrInvalidConfig", err)
			}
		})
	}
}

// TestFromConfig: the ingest service's configuration maps onto the engine's, and its
// defaults validate once an owner is set.
func TestFromConfig(t *testing.T) {
	t.Parallel()
	c := config.Default()
	c.Batch, c.Concurrency, c.DryRun = 200, 3, true
	c.Types = []string{"user.login"}
	c.Redis.KeyPrefix = "ap:"
	c.NATS.DuplicateWindow = 3 * time.Hour
	got := ingest.FromConfig(c, "pod-1")
	if got.Owner != "pod-1" || got.Batch != 200 || got.Concurrency != 3 || got.SessionConcurrency != 3 || !got.DryRun ||
		len(got.Types) != 1 || got.Window.KeyPrefix != "ap:" || got.Stream.DuplicateWindow != 3*time.Hour ||
		got.Stream.Name != c.NATS.Stream || got.Timeout != c.Timeout || got.WindowSize != c.WindowSize {
		t.Fatalf("FromConfig = %+v", got)
	}
	if err := got.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
}

// TestFromConfigLeases: ingest.lease-ttl and ingest.settle-grace reach the window store's
// config; settle-grace 0 turns settle passes off.
func TestFromConfigLeases(t *testing.T) {
	t.Parallel()
	c := config.Default()
	if got := ingest.FromConfig(c, "pod-1").Window; got.LeaseTTL != 30*time.Second || got.SettleGrace != 10*time.Minute {
		t.Errorf("defaults: lease TTL %v, settle grace %v; want 30s and 10m", got.LeaseTTL, got.SettleGrace)
	}
	c.Ingest.LeaseTTL, c.Ingest.SettleGrace = 5*time.Second, 0
	got := ingest.FromConfig(c, "pod-1")
	if got.Window.LeaseTTL != 5*time.Second || got.Window.SettleGrace != 0 {
		t.Errorf("lease TTL %v, settle grace %v; want 5s and 0", got.Window.LeaseTTL, got.Window.SettleGrace)
	}
	if err := got.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
}
