package main

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/replicas"
	"github.com/auditpipe/auditpipe/pkg/service/servicetest"
	"github.com/auditpipe/auditpipe/pkg/testenv"
)

// tokensFile writes a tokens file with one admin token and returns its path.
func tokensFile(t *testing.T, token string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(path, []byte("# test\nadmin "+token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRun(t *testing.T) {
	tokens := tokensFile(t, "tok-0123456789")
	redisDown := testenv.ClosedAddr(t)
	common := servicetest.CommandLineCases("auditpipe-admin", version,
		"-listen addr", "-insecure-dev-no-auth", "refuses to start")
	servicetest.RunCases(t, run, append(common, []servicetest.Case{
		{Name: "unknown flag", Given: []string{"--port", "5"}, WantErr: []string{"flag provided but not defined: -port"}},
		{
			Name:  "every problem named by its key",
			Given: []string{"--set", "nats.url=http://nats:4222", "--listen", "nowhere", "--set", "admin.tokens-file=" + tokens},
			WantErr: []string{"invalid configuration:", "nats.url: scheme must be",
				`admin.listen: want [host]:port such as :9090 or 127.0.0.1:8080, got "nowhere"`},
		},
		{
			Name:    "refuses to start without authentication",
			WantErr: []string{"invalid configuration:", "admin.tokens-file: the admin API needs authentication"},
		},
		{
			Name:    "a tokens file that is not there",
			Given:   []string{"--set", "admin.tokens-file=/nonexistent/tokens"},
			WantErr: []string{"admin.tokens-file: cannot open"},
		},
		{Name: "unknown variable", Env: []string{"AUDITPIPE_ADMIN_LISTN=:1"}, WantErr: []string{"AUDITPIPE_ADMIN_LISTN"}},
		{
			Name:    "credentials in a URL are refused and not shown",
			Given:   []string{"--set", "redis.url=redis://admin:hunter2@redis:6379", "--set", "admin.tokens-file=" + tokens},
			WantErr: []string{"redis.url"},
			Hidden:  "hunter2",
		},
		{
			Name: "insecure: a loud warning, then Redis down",
			Given: []string{"--insecure-dev-no-auth", "--set", "redis.addr=" + redisDown,
				"--set", "metrics.listen=127.0.0.1:0", "--listen", "127.0.0.1:0"},
			WantErr: []string{"redis: PING " + redisDown},
			WantLog: []string{"INSECURE", "WITHOUT AUTHENTICATION", `"level":"WARN"`},
		},
		{
			Name: "Redis down",
			Given: []string{"--set", "admin.tokens-file=" + tokens, "--set", "redis.addr=" + redisDown,
				"--set", "metrics.listen=127.0.0.1:0"},
			WantErr: []string{"redis: PING " + redisDown},
		},
	}...))
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name  string
		given []string
		want  map[string]string
	}{
		{name: "none", want: map[string]string{}},
		{
			name:  "shorthands set their keys and win over set",
			given: []string{"--set", "admin.listen=:1", "--listen", ":2", "--insecure-dev-no-auth", "--set", "admin.insecure-no-auth=false"},
			want:  map[string]string{"admin.listen": ":2", "admin.insecure-no-auth": "true"},
		},
		{name: "insecure off", given: []string{"--insecure-dev-no-auth=false"}, want: map[string]string{"admin.insecure-no-auth": "false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, err := parseFlags(tt.given, &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(opts.settings, tt.want) {
				t.Errorf("settings %v, want %v", opts.settings, tt.want)
			}
		})
	}
}

// A real start on free ports against Redis and NATS: the API answers /v1/status with the
// token (and 401 without), the health server answers /healthz and /readyz, the replica is in
// the register; on cancel it stops cleanly and leaves the register.
func TestRunServes(t *testing.T) {
	r := testenv.Redis(t)
	n := testenv.NATS(t)
	const token = "tok-serves-0123456789"
	args := []string{
		"--listen", "127.0.0.1:0",
		"--set", "metrics.listen=127.0.0.1:0",
		"--set", "admin.tokens-file=" + tokensFile(t, token),
		"--set", "redis.addr=" + r.Addr,
		"--set", "redis.key-prefix=" + r.Prefix,
		"--set", "nats.url=" + n.URL,
	}
	ctx := t.Context()
	svc := servicetest.Start(t, run, args, []string{"AUDITPIPE_OWNER=admin-test-1"})

	apiAddr := svc.LogAddr(t, "serving the admin API")
	healthAddr := svc.HealthAddr(t)

	c, err := adminapi.NewClient("http://"+apiAddr, token)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatalf("GET /v1/status: %v\nlog:\n%s", err, svc.Log)
	}
	members := st.Replicas[replicas.ServiceAdmin]
	if len(members) != 1 || members[0].ID != "admin-test-1" || members[0].Version != "dev" {
		t.Errorf("admin replicas %+v, want admin-test-1", members)
	}
	if !strings.Contains(string(members[0].Status), apiAddr) {
		t.Errorf("replica status %s lacks the API address %s", members[0].Status, apiAddr)
	}

	anon, _ := adminapi.NewClient("http://"+apiAddr, "")
	var ae *adminapi.Error
	if _, err := anon.Status(ctx); !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
		t.Errorf("without a token: %v, want 401", err)
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		res, err := http.Get("http://" + healthAddr + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s on metrics.listen: %d", path, res.StatusCode)
		}
	}

	svc.Stop(t)
	if !strings.Contains(svc.Log.String(), "auditpipe-admin stopped") {
		t.Errorf("no stop in the log:\n%s", svc.Log)
	}
	left, err := replicas.New(r.Client(t), r.Prefix).List(context.Background(), replicas.ServiceAdmin)
	if err != nil || len(left) != 0 {
		t.Errorf("after the stop the register lists %+v (%v), want none", left, err)
	}
	if _, err := net.DialTimeout("tcp", apiAddr, time.Second); err == nil {
		t.Error("the API still listens after the stop")
	}
}

// --insecure-dev-no-auth serves without a token, and says so loudly.
func TestRunInsecure(t *testing.T) {
	r := testenv.Redis(t)
	n := testenv.NATS(t)
	args := []string{
		"--insecure-dev-no-auth", "--listen", "127.0.0.1:0",
		"--set", "metrics.listen=",
		"--set", "redis.addr=" + r.Addr,
		"--set", "redis.key-prefix=" + r.Prefix,
		"--set", "nats.url=" + n.URL,
	}
	svc := servicetest.Start(t, run, args, nil)
	apiAddr := svc.LogAddr(t, "serving the admin API")
	c, _ := adminapi.NewClient("http://"+apiAddr, "")
	if _, err := c.Pause(t.Context()); err != nil {
		t.Fatalf("pause without a token: %v", err)
	}
	svc.Stop(t)
	if !strings.Contains(svc.Log.String(), "INSECURE") {
		t.Errorf("no loud warning in the log:\n%s", svc.Log)
	}
}
