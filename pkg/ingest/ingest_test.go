package ingest_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/ingest"
	"github.com/auditpipe/auditpipe/pkg/teleportsim"
)

// fullMatrix runs every mode × replicas combination of TestEveryEventOnce, and TestLargeLog, on
// 100k events (AUDITPIPE_INGEST_FULL=1, several minutes with -race); by default they run on 10k
// and 30k events, which keeps make test (with -race, on two shared cores) within its budget.
//
// The 100k proofs of make test run without -race in the test module: test/scale's
// TestIngestMatrix runs this matrix (1, 2 and 4 replicas × search and export) on a 100k-event,
// three-day log with these realism switches, and test/e2e's TestIngestExactlyOnce exports one
// with two auditpipe-ingest processes (the real binary). Both check every id exactly once and
// intact. In-process, under -race, the smaller logs prove the same property; the race
// detector needs the code paths, not the volume.
var fullMatrix = os.Getenv("AUDITPIPE_INGEST_FULL") == "1"

// realistic are the simulator's realism switches the exactly-once test runs with: runs of
// identical timestamps, events at and just before midnight, single-event chunks, large and
// >1 MB events, recordings that are missing at first.
func realistic(count int) teleportsim.Options {
	from, to := recent(3)
	return teleportsim.Options{
		Count: count, From: from, To: to,
		ChunkSize:              3000,
		IdenticalTimestamps:    20,
		DayBoundaries:          true,
		SingleEventChunks:      true,
		LargeEvents:            3,
		HugeEvents:             1,
		RecordingDelay:         300 * time.Millisecond,
		RecordingDelayFraction: 0.1,
	}
}

// TestEveryEventOnce: every event of a multi-day log, audit events and recordings, arrives in
// the stream exactly once per id and unaltered, with 1, 2 and 4 replicas, in both modes, on
// 10k-event logs (100k each with AUDITPIPE_INGEST_FULL=1). TestLargeLog runs one combination on
// a larger log.
func TestEveryEventOnce(t *testing.T) {
	t.Parallel()
	for _, mode := range []ingest.Mode{ingest.ModeSearch, ingest.ModeExport} {
		for _, replicas := range []int{1, 2, 4} {
			count := 10_000
			if fullMatrix {
				count = 100_000
			}
			t.Run(fmt.Sprintf("%s/%d-replicas/%d-events", mode, replicas, count), func(t *testing.T) {
				t.Parallel()
				everyEventOnce(t, mode, replicas, count)
			})
		}
	}
}

// TestLargeLog is TestEveryEventOnce, search mode, two replicas, on a log three times the size
// of the matrix's: 30k audit events (about 40k with the recordings), about twenty pages of 500
// per daily window, so that cursor commits, lease renewals and the bound on outstanding
// PubAcks each cycle many times per window. With AUDITPIPE_INGEST_FULL=1 it is the 100k-event
// log (134k events with the recordings; about a minute alone with -race on two cores). The
// 100k matrix of make test is test/scale's TestIngestMatrix. It does not run in parallel
// with the package's other tests, which would compete with it for the CPU.
func TestLargeLog(t *testing.T) {
	count := 30_000
	if fullMatrix {
		count = 100_000
	}
	everyEventOnce(t, ingest.ModeSearch, 2, count)
}

func everyEventOnce(t *testing.T, mode ingest.Mode, replicas, count int) {
	opts := realistic(count)
	began := time.Now()
	log := newLog(t, opts)
	want := expected(t, log, nil)
	t.Logf("log and manifest: %v", time.Since(began))
	src := newSimSource(log)
	src.noExport = mode == ingest.ModeSearch // the probe decides
	e := newEnv(t)
	began = time.Now()
	var rs []*replica
	for i := range replicas {
		rs = append(rs, e.start(e.config(fmt.Sprintf("r%d", i), opts.From), src))
	}
	e.waitCount(len(want), 4*time.Minute)
	took := time.Since(began)
	time.Sleep(500 * time.Millisecond) // room for anything extra to show
	for _, r := range rs {
		if err := r.Halt(t); err != nil {
			t.Fatalf("Run: %v", err)
		}
	}
	began = time.Now()
	e.exactlyOnce(t, want)
	t.Logf("read back: %v", time.Since(began))
	for i, r := range rs {
		st := r.Engine.Status()
		if st.Mode != mode {
			t.Errorf("replica %d ran in %q mode, want %q", i, st.Mode, mode)
		}
		t.Logf("replica %d: %+v", i, st.Events)
	}
	t.Logf("%d events (%d audit + recordings) in %v: %.0f events/s", len(want), log.Len(), took.Round(time.Millisecond),
		float64(len(want))/took.Seconds())
}
