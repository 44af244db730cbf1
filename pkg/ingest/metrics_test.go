package ingest_test

import (
	"testing"
	"time"

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
	time.Sleep(300 * time.Millisecond) // a status poll

	st := r.Engine.Status()
	if !st.Running || st.Mode == "" || st.Epoch.Number != 1 || st.Events.Published != int64(len(want)) ||
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
	for name, wantValue := range map[string]float64{
		"auditpipe_ingest_events_read_total":      float64(len(want)),
		"auditpipe_ingest_events_published_total": float64(len(want)),
		"auditpipe_ingest_puback_latency_seconds": float64(len(want)),
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
