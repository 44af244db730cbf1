package ingest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/ingest"
	"github.com/auditpipe/auditpipe/pkg/teleportsim"
)

// TestMetricsAndStatus: the metrics count what the run did, and Status reports it.
func TestMetricsAndStatus(t *testing.T) {
	t.Parallel()
	from, to := recent(1)
	log := newLog(t, teleportsim.Options{Count: 2000, From: from, To: to})
	want := expected(t, log, nil)
	e := newEnv(t)
	r := e.start(e.config("m", from), newSimSource(log))
	e.waitCount(len(want), 30*time.Second)
	// The stream holds the last page before the replica counts it (once every PubAck of the
	// page is in), and the shared counts show in Status at the next poll (every 100 ms): wait
	// for the replica's counts rather than for a guessed time. Published counts duplicates
	// too (a window read again after a lost lease, legitimate on a loaded machine): what was
	// stored is Published - Duplicates, and that is every event once.
	var st ingest.Status
	eventually(t, 30*time.Second, "the replica counted every stored event and a session job done", func() bool {
		st = r.Engine.Status()
		return st.Events.Published-st.Events.Duplicates >= int64(len(want)) && st.Sessions.Done > 0
	}, func() string { return fmt.Sprintf("Status = %+v", st) })

	if !st.Running || st.Mode == "" || st.Epoch.Number != 1 || st.Events.Published-st.Events.Duplicates != int64(len(want)) ||
		st.Windows.Total() == 0 || st.Sessions.Done == 0 || st.Newest.IsZero() || st.Lag < time.Hour {
		t.Fatalf("Status = %+v", st)
	}
	families, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := func(name string) float64 {
		var total float64
		for _, f := range families {
			if f.GetName() != name {
				continue
			}
			for _, m := range f.GetMetric() {
				// A counter's or gauge's value, or a histogram's sample count.
				total += m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
			}
		}
		return total
	}
	published := float64(len(want)) + float64(st.Events.Duplicates)
	for name, wantValue := range map[string]float64{
		"auditpipe_ingest_events_read_total":      published,
		"auditpipe_ingest_events_published_total": published,
		"auditpipe_ingest_events_duplicate_total": float64(st.Events.Duplicates),
		"auditpipe_ingest_puback_latency_seconds": published,
		"auditpipe_ingest_windows":                float64(st.Windows.Total()),
	} {
		if got := sum(name); got != wantValue {
			t.Errorf("%s = %v, want %v", name, got, wantValue)
		}
	}
	if got := sum("auditpipe_ingest_lag_seconds"); got < 3600 {
		t.Errorf("lag = %vs; want over an hour (the log ends an hour ago)", got)
	}
	if err := r.Halt(t); err != nil {
		t.Fatal(err)
	}
	if r.Engine.Status().Running {
		t.Errorf("Status().Running after Run returned")
	}
}
