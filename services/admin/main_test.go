package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/replicas"
	"github.com/auditpipe/auditpipe/pkg/testenv"
)

// closedAddr is a 127.0.0.1 address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	_ = lis.Close()
	return addr
}

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
	redisDown := closedAddr(t)
	tests := []struct {
		name    string
		given   []string
		env     []string
		wantIs  error
		wantErr []string // each in the error
		wantOut []string // each on stdout
		wantLog []string // each in the log (stderr)
		hidden  string   // in neither the output nor the error
	}{
		{name: "help", given: []string{"--help"}, wantIs: flag.ErrHelp},
		{name: "version", given: []string{"--version"}, wantOut: []string{"auditpipe-admin dev (go"}},
		{name: "unknown flag", given: []string{"--port", "5"}, wantErr: []string{"flag provided but not defined: -port"}},
		{name: "argument", given: []string{"serve"}, wantErr: []string{`unexpected argument "serve"`}},
		{name: "bad set", given: []string{"--set", "admin"}, wantErr: []string{"--set argument 1: want key=value"}},
		{
			name:    "missing file",
			given:   []string{"--config", "/nonexistent/auditpipe.toml"},
			wantErr: []string{"configuration:", "/nonexistent/auditpipe.toml"},
		},
		{
			name:  "every problem named by its key",
			given: []string{"--set", "nats.url=http://nats:4222", "--listen", "nowhere", "--set", "admin.tokens-file=" + tokens},
			wantErr: []string{"invalid configuration:", "nats.url: scheme must be",
				`admin.listen: want [host]:port such as :9090 or 127.0.0.1:8080, got "nowhere"`},
		},
		{
			name:    "refuses to start without authentication",
			wantErr: []string{"invalid configuration:", "admin.tokens-file: the admin API needs authentication"},
		},
		{
			name:    "a tokens file that is not there",
			given:   []string{"--set", "admin.tokens-file=/nonexistent/tokens"},
			wantErr: []string{"admin.tokens-file: cannot open"},
		},
		{name: "unknown variable", env: []string{"AUDITPIPE_ADMIN_LISTN=:1"}, wantErr: []string{"AUDITPIPE_ADMIN_LISTN"}},
		{
			name:    "credentials in a URL are refused and not shown",
			given:   []string{"--set", "redis.url=redis://admin:hunter2@redis:6379", "--set", "admin.tokens-file=" + tokens},
			wantErr: []string{"redis.url"},
			hidden:  "hunter2",
		},
		{
			name: "insecure: a loud warning, then Redis down",
			given: []string{"--insecure-dev-no-auth", "--set", "redis.addr=" + redisDown,
				"--set", "metrics.listen=127.0.0.1:0", "--listen", "127.0.0.1:0"},
			wantErr: []string{"redis: PING " + redisDown},
			wantLog: []string{"INSECURE", "WITHOUT AUTHENTICATION", `"level":"WARN"`},
		},
		{
			name: "Redis down",
			given: []string{"--set", "admin.tokens-file=" + tokens, "--set", "redis.addr=" + redisDown,
				"--set", "metrics.listen=127.0.0.1:0"},
			wantErr: []string{"redis: PING " + redisDown},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := run(ctx, tt.given, tt.env, &stdout, &stderr)
			switch {
			case tt.wantIs != nil:
				if !errors.Is(err, tt.wantIs) {
					t.Fatalf("err = %v, want %v", err, tt.wantIs)
				}
			case len(tt.wantErr) > 0:
				if err == nil {
					t.Fatalf("no error; log:\n%s", stderr.String())
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%q not in the error:\n%v", w, err)
					}
				}
			case err != nil:
				t.Fatal(err)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("%q not on stdout:\n%s", w, stdout.String())
				}
			}
			for _, w := range tt.wantLog {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("%q not in the log:\n%s", w, stderr.String())
				}
			}
			if tt.hidden != "" && strings.Contains(fmt.Sprint(stdout.String(), stderr.String(), err), tt.hidden) {
				t.Errorf("%q shown:\n%s%s%v", tt.hidden, stdout.String(), stderr.String(), err)
			}
		})
	}
}

func TestRunHelpPrintsUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, nil, &stdout, &stderr); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v, want flag.ErrHelp", err)
	}
	for _, w := range []string{"Usage: auditpipe-admin [flags]", "-config file", "-set key=value", "-listen addr",
		"-insecure-dev-no-auth", "-version", "refuses to start"} {
		if !strings.Contains(stderr.String(), w) {
			t.Errorf("usage lacks %q:\n%s", w, stderr.String())
		}
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout: %q", stdout.String())
	}
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
			if len(opts.settings) != len(tt.want) {
				t.Errorf("settings %v, want %v", opts.settings, tt.want)
			}
			for k, v := range tt.want {
				if opts.settings[k] != v {
					t.Errorf("settings[%s] = %q, want %q", k, opts.settings[k], v)
				}
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for the writer (the service's logs) and a reader (the
// test) at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// logAddr waits for the JSON log line whose msg is msg and returns its addr.
func logAddr(t *testing.T, logs *syncBuffer, msg string, done <-chan error) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		sc := bufio.NewScanner(strings.NewReader(logs.String()))
		for sc.Scan() {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == msg && rec.Addr != "" {
				return rec.Addr
			}
		}
		select {
		case err := <-done:
			t.Fatalf("run returned %v before %q; log:\n%s", err, msg, logs.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("no %q in the log:\n%s", msg, logs.String())
	return ""
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
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, []string{"AUDITPIPE_OWNER=admin-test-1"}, &bytes.Buffer{}, logs) }()

	apiAddr := logAddr(t, logs, "serving the admin API", done)
	healthAddr := logAddr(t, logs, "serving /healthz, /readyz and /metrics", done)

	c, err := adminapi.NewClient("http://"+apiAddr, token)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatalf("GET /v1/status: %v\nlog:\n%s", err, logs.String())
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

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after cancel: %v\nlog:\n%s", err, logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	if !strings.Contains(logs.String(), "auditpipe-admin stopped") {
		t.Errorf("no stop in the log:\n%s", logs.String())
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
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, nil, &bytes.Buffer{}, logs) }()
	apiAddr := logAddr(t, logs, "serving the admin API", done)
	c, _ := adminapi.NewClient("http://"+apiAddr, "")
	if _, err := c.Pause(ctx); err != nil {
		t.Fatalf("pause without a token: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "INSECURE") {
		t.Errorf("no loud warning in the log:\n%s", logs.String())
	}
}
