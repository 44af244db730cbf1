package ingest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/ingest"
	"github.com/auditpipe/auditpipe/pkg/ingest/ingesttest"
	"github.com/auditpipe/auditpipe/pkg/teleportsim"
	"github.com/auditpipe/auditpipe/pkg/teleportsim/teleportsimtest"
	"github.com/auditpipe/auditpipe/pkg/teleportsrc"
)

var _ ingest.Source = (*teleportsrc.Client)(nil)

// simServer serves log over gRPC and mutual TLS, as a Teleport Auth Service, until the test
// ends, and returns a production Teleport client of it.
func simServer(t testing.TB, log *teleportsim.Log, faults teleportsim.Faults) (*teleportsim.Server, *teleportsrc.Client) {
	t.Helper()
	srv := teleportsimtest.Start(t, teleportsim.ServerConfig{Log: log, Faults: faults})
	return srv, ingesttest.TeleportClient(t, srv, "teleportsrc")
}

// TestThroughTeleportClient runs the engine through the production Teleport client and the
// simulator's gRPC server (the real teleport/api services over mTLS), with the server failing
// some calls and cutting streams: the mode comes from the probe (an Auth Service without bulk
// export answers Unimplemented), errors are classified by teleportsrc, and every event
// arrives once, unaltered by its trip through protobuf's Struct.
func TestThroughTeleportClient(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, mode ingest.Mode) {
		from, to := recent(2)
		log := newLog(t, teleportsim.Options{Count: 5000, From: from, To: to, ChunkSize: 1500, HugeEvents: 1,
			DayBoundaries: true, SingleEventChunks: true, RecordingDelay: 300 * time.Millisecond, RecordingDelayFraction: 0.2})
		want := expected(t, log, nil)
		faults := teleportsim.Faults{UnavailableRate: 0.03, StreamCutAfter: 700, ExportNotImplemented: mode == ingest.ModeSearch}
		_, client := simServer(t, log, faults)
		e := newEnv(t)
		var replicas []*replica
		for i := range 2 {
			replicas = append(replicas, e.start(e.config(fmt.Sprintf("g%d", i), from), client))
		}
		e.waitCount(len(want), 90*time.Second)
		time.Sleep(300 * time.Millisecond)
		e.exactlyOnce(t, want)
		for _, r := range replicas {
			if st := r.Engine.Status(); st.Mode != mode {
				t.Errorf("%s ran in %q mode, want %q", st.Owner, st.Mode, mode)
			}
		}
	})
}
