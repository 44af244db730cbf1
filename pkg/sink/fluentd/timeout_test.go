package fluentd_test

import (
	"strings"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/sink"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd/fluentdtest"
)

// A Fluentd slower than the request timeout yields Retry, in about the timeout.
func TestRequestTimeout(t *testing.T) {
	peer := fluentdtest.New(t)
	peer.SetLatency(5 * time.Second)
	s := newSink(t, peer, fluentd.WithTimeout(200*time.Millisecond))
	start := time.Now()
	results := s.Deliver(testContext(t), audits(0, 3, 0))
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Deliver took %v with a 200ms timeout", took)
	}
	wantAll(t, results, 3, sink.Retry, false)
	if r := results[0]; !strings.Contains(r.Reason, "no answer within 200ms") {
		t.Errorf("reason %q does not name the timeout", r.Reason)
	}
}
