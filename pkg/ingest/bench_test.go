package ingest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/ingest"
	"github.com/auditpipe/auditpipe/pkg/teleportsim"
)

// BenchmarkIngest measures ingest alone: events per second from the simulator (in process,
// without the gRPC hop) into JetStream (an embedded server, file storage), audit events and
// recordings, with one and two replicas in one process, in both modes. Each iteration ingests
// a fresh 50k-event log into a fresh stream; the time counted runs from the replicas' start
// to the last PubAck.
func BenchmarkIngest(b *testing.B) {
	for _, mode := range []ingest.Mode{ingest.ModeSearch, ingest.ModeExport} {
		for _, replicas := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/replicas=%d", mode, replicas), func(b *testing.B) {
				from, to := recent(3)
				log := newLog(b, teleportsim.Options{Count: 50_000, From: from, To: to})
				want := len(expected(b, log, nil))
				var took time.Duration
				for range b.N {
					b.StopTimer()
					e := newEnv(b)
					b.StartTimer()
					began := time.Now()
					var rs []*replica
					for i := range replicas {
						cfg := e.config(fmt.Sprintf("b%d", i), from)
						cfg.Mode = mode
						cfg.Stream.Storage = 0 // file storage, as in production
						rs = append(rs, e.start(cfg, newSimSource(log)))
					}
					e.waitCount(want, 5*time.Minute)
					took += time.Since(began)
					b.StopTimer()
					for _, r := range rs {
						if err := r.Halt(b); err != nil {
							b.Fatal(err)
						}
					}
					b.StartTimer()
				}
				b.ReportMetric(float64(want*b.N)/took.Seconds(), "events/s")
			})
		}
	}
}
