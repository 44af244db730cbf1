package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/logtest"
)

// result is one auditpipectl run: its exit status and what it printed.
type result struct {
	code           int
	stdout, stderr string
}

// runCtl runs auditpipectl with args and env as main would, with a changed app when tweak is
// not nil, and returns the exit status and the output (the error message included on stderr).
func runCtl(t *testing.T, ctx context.Context, env []string, tweak func(*app), args ...string) result {
	t.Helper()
	var stdout, stderr logtest.Buffer
	a := newApp(env, &stdout, &stderr)
	if tweak != nil {
		tweak(a)
	}
	code := exitStatus(a.run(ctx, args), &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// ctl runs auditpipectl with args and env and a 30 s timeout.
func ctl(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return runCtl(t, ctx, env, nil, args...)
}

// want checks the exit status and that each of outs is on stdout and each of errs on stderr.
func (r result) want(t *testing.T, code int, outs []string, errs ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	for _, w := range outs {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
		}
	}
	for _, w := range errs {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
		}
	}
}

func TestCommandLine(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		code    int
		stdout  []string
		stderr  []string
		noStdio bool // nothing printed on stdout
	}{
		{name: "help", args: []string{"--help"}, stdout: []string{"Usage: auditpipectl <command>",
			"configure", "status", "replay", "replays", "cancel", "reset-start-time", "pause", "resume",
			"dlq list", "dlq redrive", "dlq delete", "validate-config",
			"--server=URL", "--token-file=FILE", "--ca=FILE", "--cert=FILE", "--key=FILE", "--timeout=30s",
			"AUDITPIPE_ADMIN_URL", "AUDITPIPE_ADMIN_TOKEN"}},
		{name: "verb help", args: []string{"replay", "--help"}, stdout: []string{"--from=TIME", "--to=TIME", "--types=TYPE,...", "--sinks=SINK,...", "--wait"}},
		{name: "version", args: []string{"--version"}, stdout: []string{"auditpipectl dev (go"}},
		{name: "no verb", args: nil, code: 2, stderr: []string{"auditpipectl: expected one of", "Run auditpipectl --help"}},
		{name: "unknown verb", args: []string{"restart"}, code: 2, stderr: []string{"unexpected argument restart"}},
		{name: "missing flag", args: []string{"replay", "--from", "-1h"}, code: 2, stderr: []string{"missing flags: --to=TIME"}},
		{name: "bad output", args: []string{"status", "-o", "yaml"}, code: 2, stderr: []string{"--output must be one of"}},
		{name: "bad time", args: []string{"replay", "--from", "yesterday", "--to", "now"}, code: 1,
			stderr: []string{`--from: time "yesterday": want RFC 3339`}},
		{name: "from after to", args: []string{"replay", "--from", "-1h", "--to", "-2h"}, code: 1,
			stderr: []string{"is not before --to"}},
		{name: "reset refused without --yes", args: []string{"reset-start-time", "--to", "2025-01-01T00:00:00Z"}, code: 1,
			stderr: []string{"starts a new epoch from 2025-01-01T00:00:00Z", "Add --yes"}},
		{name: "redrive ids and all", args: []string{"dlq", "redrive", "1", "--all"}, code: 1, stderr: []string{"give ids or --all, not both"}},
		{name: "redrive nothing", args: []string{"dlq", "redrive"}, code: 1, stderr: []string{"give the ids to redrive, or --all"}},
		{name: "redrive filters without all", args: []string{"dlq", "redrive", "3", "--sink", "fluentd"}, code: 1, stderr: []string{"--sink and --reason narrow --all"}},
		{name: "dlq delete needs a number", args: []string{"dlq", "delete", "abc"}, code: 2, stderr: []string{"auditpipectl:"}},
		{name: "cert without key", args: []string{"--cert", "/x.crt", "pause"}, code: 1, stderr: []string{"--cert and --key go together"}},
		{name: "bad server URL", args: []string{"--server", "127.0.0.1:8080", "pause"}, code: 1, stderr: []string{"want http:// or https://"}},
		{name: "validate unknown service", args: []string{"validate-config", "--service", "web"}, code: 2, stderr: []string{"--service must be one of"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctl(t, nil, tt.args...).want(t, tt.code, tt.stdout, tt.stderr...)
		})
	}
}

// With nothing listening, every API verb says it cannot reach the API, names the URL, and
// never prints the token.
func TestUnreachable(t *testing.T) {
	const secret = "tok-never-printed-42"
	env := []string{"AUDITPIPE_ADMIN_URL=http://127.0.0.1:1", "AUDITPIPE_ADMIN_TOKEN=" + secret}
	for _, args := range [][]string{{"status"}, {"pause"}, {"resume"}, {"replays"}, {"cancel", "x"},
		{"replay", "--from", "-2h", "--to", "-1h"}, {"reset-start-time", "--to", "-1h", "--yes"},
		{"dlq", "list"}, {"dlq", "redrive", "--all"}, {"dlq", "delete", "3"}} {
		r := ctl(t, env, args...)
		r.want(t, 1, nil, "auditpipectl: cannot reach the admin API at http://127.0.0.1:1: ")
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("%v printed the token", args)
		}
	}
}

func TestToken(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, tokenFile string
		env             []string
		want, wantErr   string
	}{
		{name: "none"},
		{name: "environment", env: []string{"AUDITPIPE_ADMIN_TOKEN= tok-env \n"}, want: "tok-env"},
		{name: "file wins over the environment", tokenFile: write("t1", "tok-file\n"), env: []string{"AUDITPIPE_ADMIN_TOKEN=tok-env"}, want: "tok-file"},
		{name: "empty file", tokenFile: write("t2", "\n"), wantErr: "is empty"},
		// The server's tokens file: its first admin token, else its first read token.
		{name: "the server's tokens file", tokenFile: write("t3", "# ops\nread tok-r1\nadmin tok-a1\nadmin tok-a2\n"), want: "tok-a1"},
		{name: "the server's tokens file, read tokens only", tokenFile: write("t4", "read tok-r1\n\nread tok-r2\n"), want: "tok-r1"},
		{name: "a tokens file with comments only", tokenFile: write("t5", "# no token yet\n# read ...\n"), wantErr: "holds no token"},
		{name: "neither a token nor a tokens file", tokenFile: write("t6", "admin tok-secret-x extra\n"), wantErr: "line 1: want \"<scope> <token>\" (3 fields)"},
		{name: "a bad scope", tokenFile: write("t7", "root tok-secret-x\n"), wantErr: "line 1: the scope (first field) must be read or admin"},
		{name: "missing file", tokenFile: filepath.Join(dir, "nope"), wantErr: "--token-file: open"},
		{name: "environment with spaces", env: []string{"AUDITPIPE_ADMIN_TOKEN=admin tok-secret-x"}, wantErr: "AUDITPIPE_ADMIN_TOKEN: want the token alone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newApp(tt.env, &bytes.Buffer{}, &bytes.Buffer{})
			a.globals = &globals{TokenFile: tt.tokenFile, Timeout: time.Second}
			got, err := a.token()
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "tok-secret-x") {
					t.Errorf("the error shows the token: %v", err)
				}
			case err != nil:
				t.Fatal(err)
			case got != tt.want:
				t.Errorf("token %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2025, 3, 10, 12, 30, 0, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		given   string
		want    time.Time
		wantErr bool
	}{
		{given: "now", want: now.UTC()},
		{given: "NOW", want: now.UTC()},
		{given: "-72h", want: now.Add(-72 * time.Hour).UTC()},
		{given: "-90m", want: now.Add(-90 * time.Minute).UTC()},
		{given: "+1h", want: now.Add(time.Hour).UTC()},
		{given: "-3d", want: now.Add(-72 * time.Hour).UTC()},
		{given: "-1d12h", want: now.Add(-36 * time.Hour).UTC()},
		{given: "now-72h", want: now.Add(-72 * time.Hour).UTC()},
		{given: "2025-01-02T15:04:05Z", want: time.Date(2025, 1, 2, 15, 4, 5, 0, time.UTC)},
		{given: "2025-01-02T15:04:05+02:00", want: time.Date(2025, 1, 2, 13, 4, 5, 0, time.UTC)},
		{given: "2025-01-02", want: time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)},
		{given: "", wantErr: true},
		{given: "yesterday", wantErr: true},
		{given: "-3x", wantErr: true},
		{given: "--5m", wantErr: true},
		{given: "-d", wantErr: true},
		{given: "2025-13-01", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseTime(tt.given, now)
		switch {
		case tt.wantErr && err == nil:
			t.Errorf("parseTime(%q) = %v, want an error", tt.given, got)
		case !tt.wantErr && err != nil:
			t.Errorf("parseTime(%q): %v", tt.given, err)
		case !tt.wantErr && !got.Equal(tt.want):
			t.Errorf("parseTime(%q) = %v, want %v", tt.given, got, tt.want)
		case !tt.wantErr && got.Location() != time.UTC:
			t.Errorf("parseTime(%q) is in %v, want UTC", tt.given, got.Location())
		}
	}
}

func TestFmtDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		1500 * time.Millisecond:         "2s",
		3*time.Minute + 20*time.Second:  "3m20s",
		3 * time.Minute:                 "3m00s",
		5*time.Hour + 12*time.Minute:    "5h12m",
		76*time.Hour + 20*time.Minute:   "3d4h",
		0:                               "0s",
		59*time.Minute + 59*time.Second: "59m59s",
	} {
		if got := fmtDuration(d); got != want {
			t.Errorf("fmtDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
