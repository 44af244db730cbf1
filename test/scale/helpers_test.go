package scale

import (
	"context"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/ingest"
	"github.com/auditpipe/auditpipe/pkg/ingest/ingesttest"
	"github.com/auditpipe/auditpipe/pkg/streamcheck"
	"github.com/auditpipe/auditpipe/pkg/teleportsim"
	"github.com/auditpipe/auditpipe/pkg/teleportsim/teleportsimtest"
)

// skewClock is the system clock plus an offset the test moves forward: time runs at its real
// pace (leases, retries and recording delays behave as usual) and can jump, so that settle
// passes due days later become due at once.
type skewClock struct{ offset atomic.Int64 }

func (c *skewClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Jump moves the clock d forward.
func (c *skewClock) Jump(d time.Duration) { c.offset.Add(int64(d)) }

// cpuTime is the CPU time the test process has used (user and system): the engines, the
// simulator and NATS run in it; Redis does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS is the test process's peak resident memory in MiB (Linux reports KiB).
func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return int64(ru.Maxrss) / 1024
}

// startSim serves log over gRPC and mutual TLS, as a Teleport Auth Service, until the test
// ends. Without export, it answers the export API Unimplemented (as Teleport on DynamoDB), so
// the engines' probe chooses search mode.
func startSim(t testing.TB, log *teleportsim.Log, export bool) *teleportsim.Server {
	t.Helper()
	return teleportsimtest.Start(t, teleportsim.ServerConfig{Log: log,
		IdentityTTL: 7 * 24 * time.Hour, // past the client's 24 h expiry warning
		Faults:      teleportsim.Faults{ExportNotImplemented: !export}})
}

// newReplica builds an engine for cfg on servers, reading the simulator srv through a Teleport
// client of its own (its own gRPC connection), as a process would; it does not run it.
func newReplica(t testing.TB, cfg ingest.Config, srv *teleportsim.Server, servers *ingesttest.Servers) *ingesttest.Replica {
	t.Helper()
	client := ingesttest.TeleportClient(t, srv, cfg.Owner+"/teleport")
	return servers.NewReplica(t, cfg, ingest.Deps{Source: client})
}

// manifest is the Want of a log with options o (uid for audit events, sid:ei for recording
// events) and its number of recording events. A Log is a pure function of its options, so
// every log of the same options has this manifest.
func manifest(t testing.TB, o teleportsim.Options) (want streamcheck.Want, sessionEvents int) {
	t.Helper()
	l, err := teleportsim.NewLog(o)
	if err != nil {
		t.Fatalf("NewLog: %v", err)
	}
	want, err = streamcheck.WantLog(l, func(m teleportsim.ManifestEntry) bool {
		if m.Kind == teleportsim.KindSession {
			sessionEvents++
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return want, sessionEvents
}

// waitFor polls cond every 100 ms until it holds, failing the test after limit with the last
// state cond described.
func waitFor(t testing.TB, limit time.Duration, what string, cond func(ctx context.Context) (bool, string)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	for {
		ok, state := cond(ctx)
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not within %v (%s)", what, limit, state)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
