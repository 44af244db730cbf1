package config

import (
	"testing"
	"time"
)

// TestIngestKeys: the [ingest] table's keys, their defaults, the three ways to set them, and
// their checks.
func TestIngestKeys(t *testing.T) {
	d := Default()
	if d.Ingest.LeaseTTL != 30*time.Second || d.Ingest.SettleGrace != 10*time.Minute {
		t.Errorf("defaults %+v; want lease-ttl 30s, settle-grace 10m", d.Ingest)
	}
	ks, err := keys()
	if err != nil {
		t.Fatal(err)
	}
	for key, env := range map[string]string{
		"ingest.lease-ttl":    "AUDITPIPE_INGEST_LEASE_TTL",
		"ingest.settle-grace": "AUDITPIPE_INGEST_SETTLE_GRACE",
	} {
		if f := ks.byKey[key]; f == nil || f.env != env || f.kind != kindDuration {
			t.Errorf("key %s: %+v; want a duration read from %s", key, f, env)
		}
	}
	if !ks.sections["ingest"] {
		t.Error("no section ingest")
	}

	c, _, err := loadTOML(t, "[ingest]\nlease-ttl = \"1m\"\nsettle-grace = \"0s\"\n", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Ingest.LeaseTTL != time.Minute || c.Ingest.SettleGrace != 0 {
		t.Errorf("from the file: %+v", c.Ingest)
	}
	c, _, err = loadTOML(t, "", []string{"AUDITPIPE_INGEST_LEASE_TTL=45s"}, map[string]string{"ingest.settle-grace": "20m"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Ingest.LeaseTTL != 45*time.Second || c.Ingest.SettleGrace != 20*time.Minute {
		t.Errorf("from env and flags: %+v", c.Ingest)
	}

	tests := []struct {
		name    string
		given   func(c *Config)
		wantErr []string
	}{
		{"shortest lease", func(c *Config) { c.Ingest.LeaseTTL = 3 * time.Second }, nil},
		{"no settle pass", func(c *Config) { c.Ingest.SettleGrace = 0 }, nil},
		{"lease too short", func(c *Config) { c.Ingest.LeaseTTL = 2 * time.Second },
			[]string{"ingest.lease-ttl: must be at least 3s (leases are renewed every third of it), got 2s"}},
		{"negative settle grace", func(c *Config) { c.Ingest.SettleGrace = -time.Second },
			[]string{"ingest.settle-grace: must not be negative, got -1s (0 turns settle passes off)"}},
		{"settle grace as long as the duplicate window", func(c *Config) { c.Ingest.SettleGrace = 2 * time.Hour },
			[]string{"ingest.settle-grace: must be less than nats.duplicate-window (2h0m0s), so that a settle pass stores no duplicates, got 2h0m0s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.given(c)
			checkErr(t, c.Validate(), tt.wantErr)
		})
	}
}
