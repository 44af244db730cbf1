package config

import (
	"reflect"
	"testing"
	"time"
)

func TestEnv(t *testing.T) {
	tests := []struct {
		name         string
		env          []string
		allow        []string
		want         func(c *Config)
		wantErr      []string
		wantWarnings []string
	}{
		{
			name: "every kind from strings",
			env: []string{
				"AUDITPIPE_START_TIME=2024-02-01T00:00:00Z",
				"AUDITPIPE_TIMEOUT=15s",
				"AUDITPIPE_BATCH=40",
				"AUDITPIPE_DRY_RUN=true",
				"AUDITPIPE_SKIP_SESSION_TYPES=print, desktop.recording",
				"AUDITPIPE_NATS_MAX_BYTES=2GB",
				"AUDITPIPE_FORWARD_FLUENTD_SESSION_URL=https://fluentd:8888/session",
				"AUDITPIPE_TELEPORT_REFRESH_ENABLED=1",
			},
			want: func(c *Config) {
				c.StartTime = time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
				c.Timeout = 15 * time.Second
				c.Batch = 40
				c.DryRun = true
				c.SkipSessionTypes = []string{"print", "desktop.recording"}
				c.NATS.MaxBytes = 2e9
				c.Forward.Fluentd.SessionURL = "https://fluentd:8888/session"
				c.Teleport.Refresh.Enabled = true
			},
		},
		{
			name: "an empty list variable empties the list",
			env:  []string{"AUDITPIPE_SKIP_SESSION_TYPES="},
			want: func(c *Config) { c.SkipSessionTypes = nil },
		},
		{
			name: "variables that are not keys",
			env:  []string{"AUDITPIPE_CONFIG=", "AUDITPIPE_ADMIN_URL=http://127.0.0.1:8080", "AUDITPIPE_ADMIN_TOKEN=t", "HOME=/root", "PATH=/bin"},
			want: func(c *Config) {},
		},
		{
			name:  "variables the caller claims",
			env:   []string{"AUDITPIPE_DEV_MODE=1"},
			allow: []string{"AUDITPIPE_DEV_MODE"},
			want:  func(c *Config) {},
		},
		{
			name: "the first of duplicate names wins, as with os.Getenv",
			env:  []string{"AUDITPIPE_BATCH=1", "AUDITPIPE_BATCH=2", "malformed", "=x"},
			want: func(c *Config) { c.Batch = 1 },
		},
		{
			name: "DD_SITE",
			env:  []string{"DD_SITE=us5.datadoghq.com"},
			want: func(c *Config) { c.Forward.Datadog.Site = "us5.datadoghq.com" },
		},
		{
			name:    "unknown variable",
			env:     []string{"AUDITPIPE_FORWARD_FLUENTD_ULR=https://f/a.log"},
			wantErr: []string{"env: AUDITPIPE_FORWARD_FLUENTD_ULR: unknown variable (did you mean AUDITPIPE_FORWARD_FLUENTD_URL?)"},
		},
		{
			name:    "unknown variable for a key in the wrong section",
			env:     []string{"AUDITPIPE_FLUENTD_SESSION_URL=https://f/s"},
			wantErr: []string{"env: AUDITPIPE_FLUENTD_SESSION_URL: unknown variable (did you mean AUDITPIPE_FORWARD_FLUENTD_SESSION_URL?)"},
		},
		{
			name:    "inline secret variable",
			env:     []string{"AUDITPIPE_REDIS_PASSWORD=hunter2"},
			wantErr: []string{"env: AUDITPIPE_REDIS_PASSWORD: unknown variable (did you mean AUDITPIPE_REDIS_PASSWORD_FILE?)"},
		},
		{
			name:    "inline Datadog key variable",
			env:     []string{"AUDITPIPE_FORWARD_DATADOG_API_KEY=0123456789abcdef"},
			wantErr: []string{"env: AUDITPIPE_FORWARD_DATADOG_API_KEY: unknown variable (did you mean AUDITPIPE_FORWARD_DATADOG_API_KEY_FILE?); the Datadog API key comes from DD_API_KEY or a file"},
		},
		{
			name: "bad values",
			env:  []string{"AUDITPIPE_BATCH=", "AUDITPIPE_LOCK_PERIOD=5", "AUDITPIPE_REDIS_URL=redis://:hunter2@redis:6379", "DD_SITE=x", "AUDITPIPE_FORWARD_DATADOG_SITE=\x00"},
			wantErr: []string{
				"env: AUDITPIPE_BATCH: want an integer, got \"\"",
				"env: AUDITPIPE_LOCK_PERIOD: want a duration such as \"10s\" or \"1h30m\", got \"5\"",
				"env: AUDITPIPE_REDIS_URL: must not hold credentials in its URL (put the user in redis.username and the password in redis.password-file)",
			},
		},
		{
			name: "teleport-event-handler's variables draw a warning",
			env:  []string{"FDFWD_TELEPORT_ADDR=teleport:3025", "FDWRD_FLUENTD_CERT=/c", "FDFWD_LOCKING_ENABLED=true"},
			want: func(c *Config) {},
			wantWarnings: []string{
				"env: FDFWD_LOCKING_ENABLED: teleport-event-handler's variable; auditpipe does not read it",
				"env: FDFWD_TELEPORT_ADDR: teleport-event-handler's variable; auditpipe does not read it (use AUDITPIPE_TELEPORT_ADDR)",
				"env: FDWRD_FLUENTD_CERT: teleport-event-handler's variable; auditpipe does not read it (use AUDITPIPE_FORWARD_FLUENTD_CERT)",
			},
		},
		{
			name: "DD_API_KEY with an api-key-file draws a warning",
			env:  []string{"DD_API_KEY=0123456789abcdef", "AUDITPIPE_FORWARD_DATADOG_API_KEY_FILE=/run/secrets/dd", "AUDITPIPE_SHIPPER_SINKS=datadog"},
			want: func(c *Config) {
				c.Forward.Datadog.APIKeyFile = "/run/secrets/dd"
				c.Forward.Datadog.envAPIKey = &Secret{value: "0123456789abcdef"}
				c.Shipper.Sinks = []string{SinkDatadog}
			},
			wantWarnings: []string{"env: DD_API_KEY: set, so forward.datadog.api-key-file is not read"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warnings, err := Load(Sources{Env: tt.env, AllowEnv: tt.allow})
			checkErr(t, err, tt.wantErr)
			if gotW := warningStrings(warnings); !reflect.DeepEqual(gotW, tt.wantWarnings) {
				t.Errorf("warnings = %q, want %q", gotW, tt.wantWarnings)
			}
			if tt.want == nil {
				return
			}
			want := Default()
			tt.want(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got\n%v\nwant\n%v", got, want)
			}
		})
	}
}
