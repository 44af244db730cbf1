package service

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/auditpipe/auditpipe/pkg/config"
)

// logRecord is one JSON log record of LoadConfig's.
type logRecord struct {
	Level, Msg, Source, Key, Warning string
}

func TestLoadConfig(t *testing.T) {
	// fluentd is what the shipper (shipper.sinks = ["fluentd"] by default) needs to validate.
	fluentd := func(more ...string) map[string]string {
		m := map[string]string{
			"forward.fluentd.url":         "https://fluentd:24224/teleport.audit",
			"forward.fluentd.session-url": "https://fluentd:24224/teleport.session",
		}
		for i := 0; i+1 < len(more); i += 2 {
			m[more[i]] = more[i+1]
		}
		return m
	}
	const unrun = "configured, but shipper.sinks does not run the datadog sink"
	const fdfwd = "teleport-event-handler's variable; auditpipe does not read it (use AUDITPIPE_FORWARD_FLUENTD_URL)"
	tests := []struct {
		name     string
		src      config.Sources
		svc      config.Service
		wantErr  []string    // each in the error; none: no error
		wantJSON []logRecord // the log, as JSON records
		wantText []string    // the log, as text lines (log.format = text), each containing these
	}{
		{name: "valid, no warnings", src: config.Sources{Flags: fluentd()}, svc: config.ServiceShipper},
		{
			name: "warnings are logged as JSON by default",
			src:  config.Sources{Flags: fluentd("forward.datadog.batch", "10"), Env: []string{"FDFWD_FLUENTD_URL=x"}},
			svc:  config.ServiceShipper,
			wantJSON: []logRecord{
				{Level: "WARN", Msg: "configuration", Source: "env", Key: "FDFWD_FLUENTD_URL", Warning: fdfwd},
				{Level: "WARN", Msg: "configuration", Key: "forward.datadog", Warning: unrun},
			},
		},
		{
			name:     "warnings in the log format loaded",
			src:      config.Sources{Flags: fluentd("forward.datadog.batch", "10", "log.format", "text")},
			svc:      config.ServiceShipper,
			wantText: []string{`level=WARN msg=configuration source="" key=forward.datadog warning="` + unrun + `"`},
		},
		{
			name: "at the log level loaded",
			src:  config.Sources{Flags: fluentd("forward.datadog.batch", "10", "log.level", "error")},
			svc:  config.ServiceShipper,
		},
		{
			name:    "what cannot be read: every problem, warnings logged with the default log settings",
			src:     config.Sources{Flags: map[string]string{"log.format": "text", "batchh": "5"}, Env: []string{"FDFWD_FLUENTD_URL=x", "AUDITPIPE_BATCHES=5"}},
			svc:     config.ServiceShipper,
			wantErr: []string{"configuration:\n", "AUDITPIPE_BATCHES", "batchh"},
			wantJSON: []logRecord{
				{Level: "WARN", Msg: "configuration", Source: "env", Key: "FDFWD_FLUENTD_URL", Warning: fdfwd},
			},
		},
		{
			name:    "a missing file",
			src:     config.Sources{File: "/nonexistent/auditpipe.toml"},
			svc:     config.ServiceIngest,
			wantErr: []string{"configuration:\n", "/nonexistent/auditpipe.toml"},
		},
		{
			name:    "invalid for the service: every problem by its key, warnings logged",
			src:     config.Sources{Flags: map[string]string{"forward.datadog.batch": "10", "shipper.max-in-flight": "0"}},
			svc:     config.ServiceShipper,
			wantErr: []string{"invalid configuration:\n", "forward.fluentd.url", "shipper.max-in-flight"},
			wantJSON: []logRecord{
				{Level: "WARN", Msg: "configuration", Key: "forward.datadog", Warning: unrun},
			},
		},
		{
			name:    "validated for the service given",
			src:     config.Sources{Flags: fluentd()},
			svc:     config.ServiceAdmin,
			wantErr: []string{"invalid configuration:\n", "admin.tokens-file"},
		},
		{
			name: "AUDITPIPE_OWNER is not an unknown variable",
			src:  config.Sources{Flags: fluentd(), Env: []string{"AUDITPIPE_OWNER=pod-1"}},
			svc:  config.ServiceShipper,
		},
		{
			name: "the caller's AllowEnv still counts",
			src:  config.Sources{Flags: fluentd(), Env: []string{"AUDITPIPE_OWNER=pod-1", "AUDITPIPE_X=1"}, AllowEnv: []string{"AUDITPIPE_X"}},
			svc:  config.ServiceShipper,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			cfg, err := LoadConfig(tt.src, tt.svc, &stderr)
			if len(tt.wantErr) == 0 {
				if err != nil || cfg == nil {
					t.Fatalf("LoadConfig = %v, %v; want a configuration", cfg, err)
				}
			} else {
				if err == nil || cfg != nil {
					t.Fatalf("LoadConfig = %v, %v; want an error", cfg, err)
				}
				if !strings.HasPrefix(err.Error(), tt.wantErr[0]) {
					t.Errorf("error %q does not start with %q", err, tt.wantErr[0])
				}
				for _, w := range tt.wantErr[1:] {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if stderr.Len() == 0 {
				lines = nil
			}
			switch {
			case tt.wantText != nil:
				if len(lines) != len(tt.wantText) {
					t.Fatalf("log:\n%s\nwant %d text lines", stderr.String(), len(tt.wantText))
				}
				for i, w := range tt.wantText {
					if !strings.Contains(lines[i], w) {
						t.Errorf("log line %q does not say %q", lines[i], w)
					}
				}
			default:
				if len(lines) != len(tt.wantJSON) {
					t.Fatalf("log:\n%s\nwant %d records", stderr.String(), len(tt.wantJSON))
				}
				for i, w := range tt.wantJSON {
					var got logRecord
					if err := json.Unmarshal([]byte(lines[i]), &got); err != nil {
						t.Fatalf("log line %q: %v", lines[i], err)
					}
					if got != w {
						t.Errorf("log record %d = %+v, want %+v", i, got, w)
					}
				}
			}
		})
	}
}

// LoadConfig does not change the caller's AllowEnv.
func TestLoadConfigKeepsAllowEnv(t *testing.T) {
	allow := make([]string, 1, 4)
	allow[0] = "AUDITPIPE_X"
	src := config.Sources{AllowEnv: allow, Flags: map[string]string{
		"forward.fluentd.url": "https://f:1/a", "forward.fluentd.session-url": "https://f:1/s"}}
	if _, err := LoadConfig(src, config.ServiceShipper, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if len(src.AllowEnv) != 1 || allow[:2][1] != "" {
		t.Errorf("AllowEnv changed: %q", allow[:2])
	}
}
