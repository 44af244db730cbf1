package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/replicas"
	"github.com/auditpipe/auditpipe/pkg/teleportsim"
	"github.com/auditpipe/auditpipe/pkg/testenv"
)

func TestMain(m *testing.M) {
	beatInterval = 100 * time.Millisecond // before any test runs: the beats read it
	os.Exit(m.Run())
}

// syncBuffer is a bytes.Buffer safe for the logger and the test at once.
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

// TestReplicaBeats runs the real program against the Teleport simulator, a real Redis and
// an embedded NATS: while it runs, the admin API's register (replicas.Registry.List) lists
// it under its owner id with its version and an adminapi.IngestMember status that shows the
// events it published; a graceful stop removes it from the register at once (Leave, not
// expiry).
func TestReplicaBeats(t *testing.T) {
	t.Parallel()
	ns := testenv.NATS(t)
	rds := testenv.Redis(t)
	now := time.Now().UTC()
	simLog, err := teleportsim.NewLog(teleportsim.Options{Seed: 1, Count: 300, From: now.Add(-2 * time.Hour), To: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	sim, err := teleportsim.NewServer(teleportsim.ServerConfig{Log: simLog, CredentialsDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	simCtx, stopSim := context.WithCancel(context.Background())
	simDone := make(chan error, 1)
	go func() { simDone <- sim.Run(simCtx) }()
	t.Cleanup(func() {
		stopSim()
		if err := <-simDone; err != nil {
			t.Errorf("simulator: %v", err)
		}
	})

	cfgFile := filepath.Join(t.TempDir(), "auditpipe.toml")
	toml := fmt.Sprintf(`start-time = %q
timeout = "200ms"
batch = 100

[teleport]
addr = %q
identity = %q

[redis]
addr = %q
key-prefix = %q

[nats]
url = %q

[metrics]
listen = "127.0.0.1:0"
`, now.Add(-3*time.Hour).Format(time.RFC3339), sim.Addr(), sim.Credentials().Identity, rds.Addr, rds.Prefix, ns.URL)
	if err := os.WriteFile(cfgFile, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	stderr := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--config", cfgFile, "--owner", "ingest-7"}, nil, &bytes.Buffer{}, stderr)
	}()

	rdb := rds.Client(t)
	register := replicas.New(rdb, rds.Prefix)
	var member adminapi.IngestMember
	deadline := time.Now().Add(60 * time.Second)
	for {
		reps, err := register.List(t.Context(), replicas.ServiceIngest)
		if err != nil {
			t.Fatal(err)
		}
		if len(reps) == 1 {
			rep := reps[0]
			if rep.ID != "ingest-7" || rep.Version != version || rep.Started.IsZero() {
				t.Fatalf("listed %+v; want id ingest-7, version %s", rep, version)
			}
			if err := json.Unmarshal(rep.Status, &member); err != nil {
				t.Fatalf("status %s: %v", rep.Status, err)
			}
			if member.Running && member.Published >= int64(simLog.Len()) {
				break
			}
		}
		select {
		case err := <-done:
			t.Fatalf("run returned %v while waiting for the replica's beats\n%s", err, stderr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no beat of a running replica that published %d events after 60s; last status %+v\n%s", simLog.Len(), member, stderr)
		}
	}
	if member.Mode == "" || member.Read < member.Published || member.NewestEvent.IsZero() || member.LagSeconds <= 0 {
		t.Errorf("status %+v; want the mode, counts, newest event and lag", member)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after the stop = %v\n%s", err, stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("run did not return within 30s of the stop\n%s", stderr)
	}
	// Left, not expired: the field is gone from the register's hash.
	if n, err := rdb.HLen(t.Context(), rds.Prefix+"replicas:"+replicas.ServiceIngest).Result(); err != nil || n != 0 {
		t.Errorf("register after the stop holds %d replicas (%v); want none", n, err)
	}
}
