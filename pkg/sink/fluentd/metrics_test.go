package fluentd_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/auditpipe/auditpipe/pkg/sink"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd/fluentdtest"
	"github.com/auditpipe/auditpipe/pkg/sink/sinktest"
)

func TestMetrics(t *testing.T) {
	peer := fluentdtest.New(t)
	reg := prometheus.NewPedanticRegistry()
	s := newSink(t, peer, fluentd.WithRegisterer(reg))
	// A second Sink on the same registry shares the metrics.
	second := newSink(t, peer, fluentd.WithRegisterer(reg))
	ctx := testContext(t)

	peer.Fail(1, sinktest.Transient)
	wantAll(t, s.Deliver(ctx, audits(0, 5, 0)), 5, sink.Retry, false)
	wantAll(t, s.Deliver(ctx, audits(0, 5, 0)), 5, sink.Delivered, false)
	peer.Fail(1, sinktest.Hang)
	cancelled, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	wantAll(t, second.Deliver(cancelled, audits(10, 5, 0)), 5, sink.Retry, false)

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName() + "{"
			for i, l := range m.GetLabel() {
				if i > 0 {
					key += ","
				}
				key += l.GetName() + `="` + l.GetValue() + `"`
			}
			key += "}"
			switch {
			case m.Counter != nil:
				got[key] = m.GetCounter().GetValue()
			case m.Histogram != nil:
				got[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	want := map[string]float64{
		`auditpipe_sink_http_requests_total{code="200",sink="fluentd"}`:   1,
		`auditpipe_sink_http_requests_total{code="503",sink="fluentd"}`:   1,
		`auditpipe_sink_http_requests_total{code="error",sink="fluentd"}`: 1,
		`auditpipe_sink_http_request_duration_seconds{sink="fluentd"}`:    3,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if sent := got[`auditpipe_sink_http_sent_bytes_total{sink="fluentd"}`]; sent < 3*5*300 {
		t.Errorf("sent bytes = %v, want at least 3 requests of 5 events", sent)
	}
}
