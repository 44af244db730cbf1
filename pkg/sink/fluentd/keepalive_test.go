package fluentd_test

import (
	"testing"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/sink"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd/fluentdtest"
	"github.com/auditpipe/auditpipe/pkg/sink/sinktest"
)

// Connections are kept alive and reused: many batches, each with requests to several URLs at
// once, never open more than max-connections.
func TestKeepAliveReusesConnections(t *testing.T) {
	peer := fluentdtest.New(t)
	cfg := peer.Config()
	s := newSink(t, peer)
	ctx := testContext(t)
	const batches = 50
	for b := range batches {
		var batch []event.Event
		for i := range 100 {
			if i%4 == 0 {
				batch = append(batch, sinktest.SessionEvent(string(rune('a'+i%3)), int64(b*100+i)))
			} else {
				batch = append(batch, sinktest.AuditEvent(b*100+i))
			}
		}
		wantAll(t, s.Deliver(ctx, batch), len(batch), sink.Delivered, false)
	}
	if got := peer.Requests(); got < batches*2 {
		t.Fatalf("%d requests, want at least %d", got, batches*2)
	}
	if got := peer.Connections(); got > cfg.MaxConnections {
		t.Errorf("%d connections for %d requests, want at most max-connections (%d)", got, peer.Requests(), cfg.MaxConnections)
	}
}

// A reset on a reused keep-alive connection is retried once at once; a second reset is the
// shipper's to retry.
func TestResetOnReusedConnectionIsRetriedOnce(t *testing.T) {
	peer := fluentdtest.New(t)
	s := newSink(t, peer)
	ctx := testContext(t)
	wantAll(t, s.Deliver(ctx, audits(0, 3, 0)), 3, sink.Delivered, false) // opens the connection

	peer.Fail(1, sinktest.Reset)
	wantAll(t, s.Deliver(ctx, audits(10, 3, 0)), 3, sink.Delivered, false)
	if got := peer.Requests(); got != 3 {
		t.Errorf("%d requests, want 3 (ok, reset, retried)", got)
	}

	wantAll(t, s.Deliver(ctx, audits(20, 3, 0)), 3, sink.Delivered, false) // a fresh idle connection
	peer.Fail(2, sinktest.Reset)
	wantAll(t, s.Deliver(ctx, audits(30, 3, 0)), 3, sink.Retry, false)
	if got := len(peer.Received()); got != 9 {
		t.Errorf("peer holds %d events, want 9", got)
	}
}
