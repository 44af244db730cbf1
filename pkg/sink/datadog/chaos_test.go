package datadog_test

import (
	"net/http"
	"testing"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/sink/datadog/datadogtest"
	"github.com/auditpipe/auditpipe/pkg/sink/sinktest"
)

// TestChaos delivers 5,000 events in batches of 500, 100 items per request, while 30% of
// requests are answered 503 or reset: retrying as the shipper does, every event reaches the
// intake exactly once and in order.
func TestChaos(t *testing.T) {
	f := newFixture(t, func(c *config.Datadog) { c.Batch = 100 })
	f.intake.FailRandomly(0.3,
		datadogtest.Failure{Status: http.StatusServiceUnavailable},
		datadogtest.Failure{Reset: true})
	batch := audits(5000, 0)
	for lo := 0; lo < len(batch); lo += 500 {
		sinktest.DeliverEventually(t.Context(), t, f.sink, batch[lo:lo+500], 100)
	}
	inOrder(t, f.intake, batch)
	if got := metric(t, f.reg, "auditpipe_sink_http_requests_total", "sink", "datadog", "code", "error"); got == 0 {
		t.Error("no reset happened")
	}
}
