// Package e2e runs auditpipe's real binaries as processes on 127.0.0.1 against teleport-sim,
// a real Redis and a real NATS JetStream server (pkg/testenv), and checks what reaches the
// stream against teleport-sim's manifest, and what reaches the sinks' strict fake peers — Fluentd
// (pkg/sink/fluentd/fluentdtest) and the Datadog Logs intake (pkg/sink/datadog/datadogtest) —
// against what the stream held.
//
// The binaries are built once per test run, without -race whatever the test binary is built
// with, into a temporary directory.
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// binDir holds the binaries; TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "auditpipe-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// binaries are the paths of auditpipe-ingest, auditpipe-shipper and teleport-sim.
type binaries struct{ ingest, shipper, sim string }

// build compiles the binaries on its first call, in one go build so that they link in
// parallel; later calls return the same result.
var build = sync.OnceValues(func() (binaries, error) {
	msg, err := exec.Command("go", "build", "-o", binDir+string(filepath.Separator),
		"../../services/ingest", "../../services/shipper", "../../tools/teleport-sim").CombinedOutput()
	if err != nil {
		return binaries{}, fmt.Errorf("go build: %w\n%s", err, msg)
	}
	// go build names a binary after its package directory.
	b := binaries{
		ingest:  filepath.Join(binDir, "auditpipe-ingest"),
		shipper: filepath.Join(binDir, "auditpipe-shipper"),
		sim:     filepath.Join(binDir, "teleport-sim"),
	}
	for from, to := range map[string]string{"ingest": b.ingest, "shipper": b.shipper} {
		if err := os.Rename(filepath.Join(binDir, from), to); err != nil {
			return binaries{}, err
		}
	}
	return b, nil
})

// bins builds the binaries (once per run) or fails the test.
func bins(t testing.TB) binaries {
	t.Helper()
	b, err := build()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
