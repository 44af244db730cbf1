package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/teleportsim"
)

func TestParseFlags(t *testing.T) {
	now := time.Date(2025, 1, 28, 12, 30, 15, 500, time.UTC)
	tests := []struct {
		name    string
		given   []string
		want    func(config) bool
		wantErr string
	}{
		{
			name:  "defaults",
			given: []string{"--out", "d"},
			want: func(c config) bool {
				return c.server.ListenAddr == "127.0.0.1:3025" && c.server.CredentialsDir == "d" &&
					c.log.Seed == 1 && c.log.Count == 10000 && c.log.Mix == nil &&
					c.log.To.Equal(now.Truncate(time.Second)) && c.log.From.Equal(c.log.To.Add(-72*time.Hour)) &&
					c.log.ClusterName == teleportsim.DefaultClusterName && c.server.Faults == (teleportsim.Faults{})
			},
		},
		{
			name: "every log option",
			given: []string{"--out", "d", "--seed", "9", "--count", "5", "--from", "2025-01-01T00:00:00Z", "--to", "2025-01-02T00:00:00Z",
				"--mix", "exec=3,user.login=1", "--chunk-size", "50", "--page-bytes", "4096", "--identical-timestamps", "4",
				"--day-boundaries", "--unicode", "--large-events", "2", "--huge-events", "1", "--late-events", "3",
				"--late-delay", "1m", "--single-event-chunks", "--recording-delay", "30s", "--recording-delay-fraction", "0.5",
				"--live-flush", "2s", "--cluster-name", "c.example.com"},
			want: func(c config) bool {
				o := c.log
				return o.Seed == 9 && o.Count == 5 && o.From.Equal(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) &&
					o.To.Equal(time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)) && len(o.Mix) == 2 && o.Mix["exec"] == 3 &&
					o.ChunkSize == 50 && o.PageBytes == 4096 && o.IdenticalTimestamps == 4 && o.DayBoundaries && o.Unicode &&
					o.LargeEvents == 2 && o.HugeEvents == 1 && o.LateEvents == 3 && o.LateDelay == time.Minute &&
					o.SingleEventChunks && o.RecordingDelay == 30*time.Second && o.RecordingDelayFraction == 0.5 &&
					o.LiveFlush == 2*time.Second && o.ClusterName == "c.example.com" && c.server.ClusterName == "c.example.com"
			},
		},
		{
			name: "server and faults",
			given: []string{"--out", "d", "--listen", "127.0.0.1:0", "--server-version", "16.4.0", "--user", "u",
				"--identity-ttl", "1h", "--identity-renew", "30m", "--drain-timeout", "2s", "--ready-file", "r.json",
				"--manifest", "m.jsonl", "--live-rate", "50", "--log-level", "debug",
				"--latency", "10ms", "--unavailable-rate", "0.1", "--resource-exhausted-rate", "0.2", "--unavailable-next", "3",
				"--resource-exhausted-next", "4", "--stream-cut-after", "5", "--export-not-implemented"},
			want: func(c config) bool {
				return c.server.ListenAddr == "127.0.0.1:0" && c.server.ServerVersion == "16.4.0" && c.server.User == "u" &&
					c.server.IdentityTTL == time.Hour && c.identityRenew == 30*time.Minute && c.server.DrainTimeout == 2*time.Second &&
					c.readyFile == "r.json" && c.manifest == "m.jsonl" && c.liveRate == 50 && c.logLevel.String() == "DEBUG" &&
					c.server.Faults == teleportsim.Faults{Latency: 10 * time.Millisecond, UnavailableRate: 0.1,
						ResourceExhaustedRate: 0.2, UnavailableNext: 3, ResourceExhaustedNext: 4, StreamCutAfter: 5,
						ExportNotImplemented: true}
			},
		},
		{name: "missing out", given: nil, wantErr: "missing --out"},
		{name: "from after to", given: []string{"--out", "d", "--from", "2025-01-02T00:00:00Z", "--to", "2025-01-01T00:00:00Z"}, wantErr: "is not before --to"},
		{name: "bad time", given: []string{"--out", "d", "--from", "yesterday"}, wantErr: "RFC 3339"},
		{name: "bad mix", given: []string{"--out", "d", "--mix", "exec"}, wantErr: "is not type=weight"},
		{name: "bad fault", given: []string{"--out", "d", "--unavailable-rate", "3"}, wantErr: "outside [0, 1]"},
		{name: "negative live rate", given: []string{"--out", "d", "--live-rate", "-1"}, wantErr: "--live-rate"},
		{name: "stray argument", given: []string{"--out", "d", "extra"}, wantErr: "unexpected arguments"},
		{name: "unknown flag", given: []string{"--nope"}, wantErr: "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFlagsAt(tt.given, io.Discard, now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseFlags: %v", err)
			}
			if !tt.want(got) {
				t.Fatalf("config %+v", got)
			}
		})
	}
}

func TestHelpDocumentsEveryFlag(t *testing.T) {
	var out bytes.Buffer
	if _, err := parseFlags([]string{"--help"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help = %v", err)
	}
	for _, name := range []string{"listen", "out", "manifest", "live-rate", "ready-file", "seed", "count", "from", "to",
		"mix", "late-events", "recording-delay", "unavailable-rate", "export-not-implemented", "stream-cut-after"} {
		if !strings.Contains(out.String(), "  -"+name) {
			t.Errorf("--help does not document --%s", name)
		}
	}
}

// simArgs are the flags of a small simulator on a free port writing into dir.
func simArgs(dir string) []string {
	return []string{
		"--listen", "127.0.0.1:0", "--out", filepath.Join(dir, "creds"),
		"--ready-file", filepath.Join(dir, "ready.json"), "--manifest", filepath.Join(dir, "manifest.jsonl"),
		"--count", "200", "--from", "2025-01-26T00:00:00Z", "--to", "2025-01-28T00:00:00Z", "--log-level", "warn",
	}
}

// waitReady polls for the ready file and decodes it.
func waitReady(t *testing.T, path string, exited <-chan error) readyInfo {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		if raw, err := os.ReadFile(path); err == nil {
			var r readyInfo
			if err := json.Unmarshal(raw, &r); err != nil {
				t.Fatalf("ready file %s: %v", raw, err)
			}
			return r
		}
		select {
		case err := <-exited:
			t.Fatalf("exited before ready: %v", err)
		case <-deadline:
			t.Fatal("no ready file after 60s")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// handshake proves the simulator serves mutual TLS with the credentials it wrote. It reads
// the key and certificate from the identity file, which is replaced in one rename (the key pair
// files are replaced one after the other).
func handshake(t *testing.T, r readyInfo) {
	t.Helper()
	identity, err := os.ReadFile(r.Identity)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(identity, identity) // the first key and the certificates
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(r.CA)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	conn, err := tls.Dial("tcp", r.Addr, &tls.Config{
		Certificates: []tls.Certificate{pair}, RootCAs: pool,
		ServerName: "teleport.cluster.local", NextProtos: []string{"h2"},
	})
	if err != nil {
		t.Fatalf("mTLS handshake with %s: %v", r.Addr, err)
	}
	_ = conn.Close()
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for s := bufio.NewScanner(f); s.Scan(); {
		n++
	}
	return n
}

func TestRunServesUntilCancelled(t *testing.T) {
	dir := t.TempDir()
	args := append(simArgs(dir), "--live-rate", "200", "--identity-renew", "100ms")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout bytes.Buffer
	exited := make(chan error, 1)
	go func() { exited <- run(ctx, args, &stdout, io.Discard) }()

	r := waitReady(t, filepath.Join(dir, "ready.json"), exited)
	want := teleportsim.CredentialPaths{
		Identity: filepath.Join(dir, "creds", "identity"), Cert: filepath.Join(dir, "creds", "tls.crt"),
		Key: filepath.Join(dir, "creds", "tls.key"), CA: filepath.Join(dir, "creds", "tls.cas"),
	}
	if r.CredentialPaths != want || r.Manifest != filepath.Join(dir, "manifest.jsonl") || r.ClusterName != teleportsim.DefaultClusterName {
		t.Fatalf("ready file %+v", r)
	}
	handshake(t, r)
	initial := countLines(t, r.Manifest)
	if initial < 200 {
		t.Fatalf("manifest has %d entries for 200 events", initial)
	}
	firstCert, err := os.ReadFile(r.Cert)
	if err != nil {
		t.Fatal(err)
	}

	// The identity is renewed every 100 ms, and live events accrue meanwhile; a loaded
	// machine may take longer than a few intervals.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		renewed, err := os.ReadFile(r.Cert)
		if err == nil && !bytes.Equal(renewed, firstCert) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("certificate not renewed within 10s of renewals every 100ms (%v)", err)
		}
	}
	handshake(t, r)
	cancel()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("run = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
	if !strings.Contains(stdout.String(), r.Addr) || !strings.Contains(stdout.String(), r.Identity) {
		t.Fatalf("stdout %q lacks the address or the identity path", stdout.String())
	}
	if final := countLines(t, r.Manifest); final <= initial {
		t.Fatalf("manifest has %d entries after live generation, %d before", final, initial)
	}
}

func TestRunFailsOnBusyAddress(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exited := make(chan error, 1)
	go func() { exited <- run(ctx, simArgs(dir), io.Discard, io.Discard) }()
	r := waitReady(t, filepath.Join(dir, "ready.json"), exited)

	args := append(simArgs(t.TempDir()), "--listen", r.Addr)
	if err := run(context.Background(), args, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "listen") {
		t.Fatalf("run on a busy address = %v", err)
	}
	cancel()
	if err := <-exited; err != nil {
		t.Fatal(err)
	}
}

// TestBinary builds teleport-sim and runs it as a process: ready file, SIGTERM stops it with
// exit code 0, and a bad flag exits 1 with the error on stderr.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "teleport-sim")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	t.Run("stops on SIGTERM", func(t *testing.T) {
		dir := t.TempDir()
		cmd := exec.Command(bin, simArgs(dir)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		r := waitReady(t, filepath.Join(dir, "ready.json"), exited)
		handshake(t, r)
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("exit after SIGTERM: %v\nstderr: %s", err, stderr.String())
			}
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatal("no exit 15s after SIGTERM")
		}
	})

	t.Run("bad flag exits 1", func(t *testing.T) {
		cmd := exec.Command(bin, "--out", t.TempDir(), "--unavailable-rate", "7")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(stderr.String(), "teleport-sim:") {
			t.Fatalf("exit %v, stderr %q", err, stderr.String())
		}
	})
}
