package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// identityFile writes a file where teleport.identity points, so that configuration checks
// pass; its content is never read by the tests that use it.
func identityFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "identity")
	if err := os.WriteFile(path, []byte("not read"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

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

func TestRun(t *testing.T) {
	identity := identityFile(t)
	redisDown := closedAddr(t)
	tests := []struct {
		name    string
		given   []string // arguments
		env     []string
		wantIs  error    // errors.Is(err, wantIs)
		wantErr []string // each in the error; none: no error
		wantOut []string // each on stdout
		hidden  string   // in neither the output nor the error
	}{
		{name: "help", given: []string{"--help"}, wantIs: flag.ErrHelp},
		{name: "version", given: []string{"--version"}, wantOut: []string{"auditpipe-ingest dev (go"}},
		{name: "unknown flag", given: []string{"--batch", "5"}, wantErr: []string{"flag provided but not defined: -batch"}},
		{name: "argument", given: []string{"run"}, wantErr: []string{`unexpected argument "run"`}},
		{name: "bad set", given: []string{"--set", "batch"}, wantErr: []string{"--set argument 1: want key=value"}},
		{
			name:    "missing file",
			given:   []string{"--config", "/nonexistent/auditpipe.toml"},
			wantErr: []string{"configuration:", "/nonexistent/auditpipe.toml"},
		},
		{
			name:  "every problem named by its key",
			given: []string{"--set", "batch=0", "--set", "nats.url=http://nats:4222", "--start-time", "2999-01-01T00:00:00Z"},
			wantErr: []string{"invalid configuration:", "batch: must be at least 1", "nats.url: scheme must be",
				"start-time: 2999-01-01T00:00:00Z is in the future", "teleport.identity: Teleport credentials are required"},
		},
		{name: "unknown variable", env: []string{"AUDITPIPE_BATCHES=5"}, wantErr: []string{"AUDITPIPE_BATCHES"}},
		{
			name:    "credentials in a URL are refused and not shown",
			given:   []string{"--set", "redis.url=redis://admin:hunter2@redis:6379"},
			wantErr: []string{"redis.url"},
			hidden:  "hunter2",
		},
		{
			name:    "bad owner",
			given:   []string{"--owner", "a{b}", "--set", "teleport.identity=" + identity},
			wantErr: []string{`owner "a{b}"`},
		},
		{
			name: "Redis down",
			given: []string{"--set", "teleport.identity=" + identity, "--set", "redis.addr=" + redisDown,
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
	for _, w := range []string{"Usage: auditpipe-ingest [flags]", "-config file", "-set key=value", "-owner id",
		"-dry-run", "-exit-on-last-event", "-start-time time", "-version"} {
		if !strings.Contains(stderr.String(), w) {
			t.Errorf("usage lacks %q:\n%s", w, stderr.String())
		}
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout: %q", stdout.String())
	}
}

// A stop signal while the replica starts (here: before it reaches Redis) is a clean exit.
func TestRunStoppedWhileStarting(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	args := []string{"--set", "teleport.identity=" + identityFile(t), "--set", "redis.addr=" + closedAddr(t),
		"--set", "metrics.listen=127.0.0.1:0"}
	if err := run(ctx, args, nil, &stdout, &stderr); err != nil {
		t.Fatalf("err = %v, want nil; log:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "stopped before it started") {
		t.Errorf("log:\n%s", stderr.String())
	}
}

func TestParseFlags(t *testing.T) {
	host, _ := os.Hostname()
	tests := []struct {
		name      string
		given     []string
		env       []string
		want      map[string]string
		wantOwner string
	}{
		{name: "none", want: map[string]string{}, wantOwner: host + "-"},
		{
			name:  "set is repeatable, a later key wins",
			given: []string{"--set", "batch=5", "--set", "types=a,b", "--set", "batch=6"},
			want:  map[string]string{"batch": "6", "types": "a,b"},
		},
		{
			name:  "shorthands set their keys and win over set",
			given: []string{"--set", "dry-run=false", "--dry-run", "--exit-on-last-event", "--start-time", "2024-01-01T00:00:00Z"},
			want:  map[string]string{"dry-run": "true", "exit-on-last-event": "true", "start-time": "2024-01-01T00:00:00Z"},
		},
		{name: "a shorthand set to false", given: []string{"--dry-run=false"}, want: map[string]string{"dry-run": "false"}},
		{name: "owner from the environment", env: []string{"AUDITPIPE_OWNER=pod-1"}, want: map[string]string{}, wantOwner: "pod-1"},
		{name: "owner flag wins", given: []string{"--owner", "r2"}, env: []string{"AUDITPIPE_OWNER=pod-1"}, want: map[string]string{}, wantOwner: "r2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, err := parseFlags(tt.given, tt.env, &bytes.Buffer{})
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
			if tt.wantOwner != "" && !strings.HasPrefix(opts.owner, tt.wantOwner) {
				t.Errorf("owner %q, want %q…", opts.owner, tt.wantOwner)
			}
		})
	}
}
