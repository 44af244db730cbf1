package window_test

import (
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/window"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		given   func(*window.Config)
		wantErr bool
	}{
		{"defaults", func(*window.Config) {}, false},
		{"settle off", func(c *window.Config) { c.SettleGrace = 0 }, false},
		{"empty prefix", func(c *window.Config) { c.KeyPrefix = "" }, true},
		{"prefix with a hash tag", func(c *window.Config) { c.KeyPrefix = "{app}:" }, true},
		{"prefix with a brace", func(c *window.Config) { c.KeyPrefix = "a}" }, true},
		{"zero lease", func(c *window.Config) { c.LeaseTTL = 0 }, true},
		{"negative settle", func(c *window.Config) { c.SettleGrace = -time.Second }, true},
		{"zero retry", func(c *window.Config) { c.SessionRetry.Initial = 0 }, true},
		{"max under initial", func(c *window.Config) { c.SessionRetry.Max = time.Second }, true},
		{"never give up", func(c *window.Config) { c.SessionRetry.GiveUpAfter = 0 }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := window.DefaultConfig()
			tt.given(&cfg)
			err := cfg.Validate()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v; want error %v", err, tt.wantErr)
			}
			if err != nil {
				wantErr(t, "Validate", err, window.ErrInvalid)
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	_, err := window.New(nil, window.DefaultConfig())
	wantErr(t, "nil client", err, window.ErrInvalid)
	cfg := window.DefaultConfig()
	cfg.LeaseTTL = 0
	_, err = window.New(newEnv(t).redis.Client(t), cfg)
	wantErr(t, "bad config", err, window.ErrInvalid)
}
