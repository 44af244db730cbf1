package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeConfig writes a TOML file and the files it names into a new directory; the file's
// text is tmpl with {dir} replaced.
func writeConfig(t *testing.T, tmpl string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"identity", "tokens", "ca.crt"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "auditpipe.toml")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(tmpl, "{dir}", dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const validTOML = `
[teleport]
addr = "teleport.example.com:443"
identity = "{dir}/identity"
[forward.fluentd]
url = "https://fluentd:8888/a.log"
session-url = "https://fluentd:8888/s"
ca = "{dir}/ca.crt"
[admin]
tokens-file = "{dir}/tokens"
`

func TestValidateConfig(t *testing.T) {
	valid := writeConfig(t, validTOML)
	broken := writeConfig(t, `
batch = 0
[teleport]
addr = "teleport.example.com"
[forward.fluentd]
url = "http://fluentd:8888/a.log"
[nats]
url = "http://nats:4222"
`)
	legacy := writeConfig(t, "storage = \"./storage\"\n"+validTOML)
	tests := []struct {
		name    string
		args    []string
		env     []string
		code    int
		stdout  []string
		hidden  []string // not on stdout
		stderrs []string
	}{
		{name: "valid for all", args: []string{"--config", valid}, stdout: []string{"ok: valid for ingest, shipper, admin"}},
		{name: "AUDITPIPE_CONFIG names the file", env: []string{"AUDITPIPE_CONFIG=" + valid}, stdout: []string{"ok: valid for ingest, shipper, admin"}},
		{name: "one service", args: []string{"--config", valid, "--service", "shipper"}, stdout: []string{"ok: valid for shipper"}},
		{
			name: "every problem, shared ones once, others with their services",
			args: []string{"--config", broken},
			code: 1,
			stdout: []string{
				"batch: must be 1 to 10000",
				"nats.url: scheme must be nats, tls, ws or wss",
				`teleport.addr: want host:port, got "teleport.example.com"`,
				"forward.fluentd.url: scheme must be https",
				"[ingest] teleport.identity: Teleport credentials are required",
				"[shipper] forward.fluentd.session-url: required",
				"[admin] admin.tokens-file: the admin API needs authentication",
			},
			stderrs: []string{"auditpipectl: the configuration has problems: 7 for ingest, shipper, admin"},
		},
		{
			name:   "one service's problems only",
			args:   []string{"--config", broken, "--service", "admin"},
			code:   1,
			stdout: []string{"batch: must be 1 to 10000", "admin.tokens-file: the admin API needs authentication"},
			hidden: []string{"session-url", "[admin]"},
		},
		{
			name:    "the environment counts",
			args:    []string{"--config", valid},
			env:     []string{"AUDITPIPE_BATCH=0", "AUDITPIPE_OWNER=pod-1", "AUDITPIPE_ADMIN_TOKEN=x"},
			code:    1,
			stdout:  []string{"batch: must be 1 to 10000"},
			stderrs: []string{"1 for ingest, shipper, admin"},
		},
		{
			name:    "--set counts",
			args:    []string{"--config", valid, "--set", "nats.replicas=9"},
			code:    1,
			stdout:  []string{"nats.replicas: must be 1 to 5, got 9"},
			stderrs: []string{"1 for ingest, shipper, admin"},
		},
		{
			name:    "load problems",
			args:    []string{"--config", valid},
			env:     []string{"AUDITPIPE_BACH=5"},
			code:    1,
			stdout:  []string{"env: AUDITPIPE_BACH: unknown", "AUDITPIPE_BATCH"},
			stderrs: []string{"could not be loaded"},
		},
		{name: "warnings", args: []string{"--config", legacy}, stdout: []string{"warning: ", "storage", "ok: valid"}},
		{name: "missing file", args: []string{"--config", "/nonexistent/auditpipe.toml"}, code: 1,
			stdout: []string{"/nonexistent/auditpipe.toml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ctl(t, tt.env, append([]string{"validate-config"}, tt.args...)...)
			r.want(t, tt.code, tt.stdout, tt.stderrs...)
			for _, h := range tt.hidden {
				if strings.Contains(r.stdout, h) {
					t.Errorf("stdout shows %q:\n%s", h, r.stdout)
				}
			}
		})
	}
}
