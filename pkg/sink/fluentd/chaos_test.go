package fluentd_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd/fluentdtest"
	"github.com/auditpipe/auditpipe/pkg/sink/sinktest"
)

// With 30% of requests failing with 503s and resets, batches retried as the shipper retries
// them deliver every event exactly once: a failed request stores nothing, and nothing is
// reported Delivered before Fluentd said so.
func TestFlakyFluentdDeliversEveryEventOnce(t *testing.T) {
	const (
		workers   = 4
		batches   = 25
		batchSize = 40
	)
	peer := fluentdtest.New(t)
	peer.SetFailureRate(0.3, sinktest.Transient, sinktest.Reset)
	s := newSink(t, peer)
	ctx := testContext(t)

	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		all []event.Event
	)
	for w := range workers {
		wg.Go(func() {
			for b := range batches {
				var batch []event.Event
				for i := range batchSize {
					n := (w*batches+b)*batchSize + i
					if i%5 == 0 {
						batch = append(batch, sinktest.SessionEvent(fmt.Sprintf("w%d-s%d", w, i%3), int64(n)))
					} else {
						batch = append(batch, sinktest.AuditEvent(n))
					}
				}
				sinktest.DeliverEventually(ctx, t, s, batch, 50)
				mu.Lock()
				all = append(all, batch...)
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	held := map[string]int{}
	for _, k := range keys(peer.Received()) {
		held[k]++
	}
	for _, e := range all {
		if n := held[sinktest.Key(e.Body)]; n != 1 {
			t.Errorf("event %s held %d times, want once", e.ID(), n)
		}
	}
	if len(held) != len(all) {
		t.Errorf("peer holds %d distinct events, want %d", len(held), len(all))
	}
	t.Logf("%d events in %d requests over %d connections", len(all), peer.Requests(), peer.Connections())
}
