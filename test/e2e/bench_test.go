package e2e

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/auditpipe/auditpipe/pkg/stream"
)

// benchRun numbers the benchmark's exports, for their Redis key prefixes.
var benchRun atomic.Int64

// BenchmarkIngestProcess measures ingest alone, as processes: events per second from
// teleport-sim into the stream. One operation is a whole export of a 50,000-event, 72 h log
// with its recordings (about 67,000 events) by 1 or 2 replicas with exit-on-last-event, from
// process start to the last exit, in search mode (the simulator refuses the export API) and
// in export mode. Each operation starts from an empty stream and fresh Redis state.
func BenchmarkIngestProcess(b *testing.B) {
	for _, mode := range []string{"search", "export"} {
		var simArgs []string
		if mode == "search" {
			simArgs = append(simArgs, "--export-not-implemented")
		}
		e := newEnv(b, startSim(b, 50_000, simArgs...))
		events := len(e.sim.want(b))
		js := e.jetStream(b)
		for _, replicas := range []int{1, 2} {
			b.Run(fmt.Sprintf("mode=%s/replicas=%d", mode, replicas), func(b *testing.B) {
				b.StopTimer()
				for range b.N {
					deleteStream(b, js)
					cfg := e.config(b, fmt.Sprintf("bench%d:", benchRun.Add(1)))
					b.StartTimer()
					procs := make([]*ingest, replicas)
					for i := range procs {
						procs[i] = startIngest(b, cfg, fmt.Sprintf("bench-%d", i), "--exit-on-last-event")
					}
					waitExit0(b, 5*time.Minute, procs...)
					b.StopTimer()
					if n := streamMsgs(streamCtx(b), b, js); n != uint64(events) {
						b.Fatalf("the stream holds %d messages, want %d", n, events)
					}
				}
				b.ReportMetric(float64(events*b.N)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}

// deleteStream deletes the events stream, if there is one.
func deleteStream(t testing.TB, js jetstream.JetStream) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := js.DeleteStream(ctx, stream.DefaultName); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatal(err)
	}
}
