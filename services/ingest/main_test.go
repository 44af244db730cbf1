package main

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditpipe/auditpipe/pkg/service/servicetest"
	"github.com/auditpipe/auditpipe/pkg/testenv"
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

func TestRun(t *testing.T) {
	identity := identityFile(t)
	redisDown := testenv.ClosedAddr(t)
	common := servicetest.CommandLineCases("auditpipe-ingest", version,
		"-owner id", "-dry-run", "-exit-on-last-event", "-start-time time")
	servicetest.RunCases(t, run, append(common, []servicetest.Case{
		{Name: "unknown flag", Given: []string{"--batch", "5"}, WantErr: []string{"flag provided but not defined: -batch"}},
		{
			Name:  "every problem named by its key",
			Given: []string{"--set", "batch=0", "--set", "nats.url=http://nats:4222", "--start-time", "2999-01-01T00:00:00Z"},
			WantErr: []string{"invalid configuration:", "batch: must be 1 to 10000", "nats.url: scheme must be",
				"start-time: 2999-01-01T00:00:00Z is in the future", "teleport.identity: Teleport credentials are required"},
		},
		{Name: "unknown variable", Env: []string{"AUDITPIPE_BATCHES=5"}, WantErr: []string{"AUDITPIPE_BATCHES"}},
		{
			Name:    "credentials in a URL are refused and not shown",
			Given:   []string{"--set", "redis.url=redis://admin:hunter2@redis:6379"},
			WantErr: []string{"redis.url"},
			Hidden:  "hunter2",
		},
		{
			Name:    "bad owner",
			Given:   []string{"--owner", "a{b}", "--set", "teleport.identity=" + identity},
			WantErr: []string{`owner "a{b}"`},
		},
		{
			Name: "Redis down",
			Given: []string{"--set", "teleport.identity=" + identity, "--set", "redis.addr=" + redisDown,
				"--set", "metrics.listen=127.0.0.1:0"},
			WantErr: []string{"redis: PING " + redisDown},
		},
	}...))
}

// A stop signal while the replica starts (here: before it reaches Redis) is a clean exit.
func TestRunStoppedWhileStarting(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	args := []string{"--set", "teleport.identity=" + identityFile(t), "--set", "redis.addr=" + testenv.ClosedAddr(t),
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
			if !maps.Equal(opts.settings, tt.want) {
				t.Errorf("settings %v, want %v", opts.settings, tt.want)
			}
			if tt.wantOwner != "" && !strings.HasPrefix(opts.owner, tt.wantOwner) {
				t.Errorf("owner %q, want %q…", opts.owner, tt.wantOwner)
			}
		})
	}
}
