package config

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

// TestDefaultMatchesTeleportEventHandler pins the defaults of teleport-event-handler's keys to
// that program's own defaults (its cli.go), so that a file written for it means the same here.
func TestDefaultMatchesTeleportEventHandler(t *testing.T) {
	c := Default()
	tests := []struct {
		key  string
		got  any
		want any
	}{
		{"timeout", c.Timeout, 5 * time.Second},
		{"batch", c.Batch, 20},
		{"window-size", c.WindowSize, 24 * time.Hour},
		{"types", c.Types, []string(nil)},
		{"skip-event-types", c.SkipEventTypes, []string(nil)},
		{"skip-session-types", c.SkipSessionTypes, []string{"print"}},
		{"concurrency", c.Concurrency, 5},
		{"dry-run", c.DryRun, false},
		{"exit-on-last-event", c.ExitOnLastEvent, false},
		{"lock-enabled", c.LockEnabled, false},
		{"lock-failed-attempts-count", c.LockFailedAttemptsCount, 3},
		{"lock-period", c.LockPeriod, time.Minute},
		{"lock-for", c.LockFor, time.Duration(0)},
		{"namespace", c.Namespace, "default"},
		{"start-time", c.StartTime, time.Time{}},
		{"teleport.addr", c.Teleport.Addr, "localhost:3025"},
		{"teleport.refresh.enabled", c.Teleport.Refresh.Enabled, false},
		{"teleport.refresh.interval", c.Teleport.Refresh.Interval, time.Minute},
		{"forward.fluentd.max-connections", c.Forward.Fluentd.MaxConnections, 2 * c.Concurrency},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s = %v, want %v", tt.key, tt.got, tt.want)
		}
	}
}

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
}

// TestLoadWithoutSourcesIsDefault: no file, no environment, no flags gives the defaults.
func TestLoadWithoutSourcesIsDefault(t *testing.T) {
	got, warnings, err := Load(Sources{})
	if err != nil || len(warnings) != 0 {
		t.Fatalf("Load(Sources{}) = %v, %v", warnings, err)
	}
	if !reflect.DeepEqual(got, Default()) {
		t.Errorf("Load(Sources{}) =\n%v\nwant Default() =\n%v", got, Default())
	}
}

func TestKeySet(t *testing.T) {
	ks, err := keys()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key  string
		env  string
		kind kind
	}{
		{"start-time", "AUDITPIPE_START_TIME", kindTime},
		{"forward.fluentd.url", "AUDITPIPE_FORWARD_FLUENTD_URL", kindString},
		{"forward.fluentd.session-url", "AUDITPIPE_FORWARD_FLUENTD_SESSION_URL", kindString},
		{"teleport.refresh.enabled", "AUDITPIPE_TELEPORT_REFRESH_ENABLED", kindBool},
		{"lock-failed-attempts-count", "AUDITPIPE_LOCK_FAILED_ATTEMPTS_COUNT", kindInt},
		{"types", "AUDITPIPE_TYPES", kindList},
		{"nats.max-bytes", "AUDITPIPE_NATS_MAX_BYTES", kindSize},
		{"shipper.ack-wait", "AUDITPIPE_SHIPPER_ACK_WAIT", kindDuration},
		{"redis.tls.enabled", "AUDITPIPE_REDIS_TLS_ENABLED", kindBool},
		{"admin.tls.client-ca", "AUDITPIPE_ADMIN_TLS_CLIENT_CA", kindString},
	}
	for _, tt := range tests {
		f := ks.byKey[tt.key]
		if f == nil {
			t.Errorf("no key %s", tt.key)
			continue
		}
		if f.env != tt.env || f.kind != tt.kind || ks.byEnv[tt.env] != f {
			t.Errorf("key %s: env %s kind %d, want %s kind %d", tt.key, f.env, f.kind, tt.env, tt.kind)
		}
	}
	if len(ks.byEnv) != len(ks.fields) || len(ks.byKey) != len(ks.fields) {
		t.Errorf("%d fields, %d keys, %d env names: the mapping is not one to one", len(ks.fields), len(ks.byKey), len(ks.byEnv))
	}
	for _, name := range notKeyEnv {
		if ks.byEnv[name] != nil {
			t.Errorf("%s is both a key's variable and a non-key variable", name)
		}
	}
	for _, section := range []string{"teleport", "teleport.refresh", "forward", "forward.fluentd", "forward.datadog",
		"redis", "redis.tls", "nats", "shipper", "admin", "admin.tls", "log", "metrics"} {
		if !ks.sections[section] {
			t.Errorf("no section %s", section)
		}
	}
}

func TestHasSink(t *testing.T) {
	s := Shipper{Sinks: []string{SinkFluentd, SinkLock}}
	for _, sink := range knownSinks {
		if got, want := s.HasSink(sink), slices.Contains(s.Sinks, sink); got != want {
			t.Errorf("HasSink(%s) = %t, want %t", sink, got, want)
		}
	}
}
