package stream_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/auditpipe/auditpipe/pkg/stream"
)

// overlapJS counts its creations in progress and records the most at once.
type overlapJS struct {
	jetstream.JetStream // nil: any other call panics
	now, most           *atomic.Int64
}

func (o overlapJS) enter() {
	n := o.now.Add(1)
	for m := o.most.Load(); n > m && !o.most.CompareAndSwap(m, n); m = o.most.Load() {
	}
	time.Sleep(time.Millisecond)
	o.now.Add(-1)
}

func (o overlapJS) CreateOrUpdateStream(context.Context, jetstream.StreamConfig) (jetstream.Stream, error) {
	o.enter()
	return nil, nil
}

func (o overlapJS) CreateOrUpdateObjectStore(context.Context, jetstream.ObjectStoreConfig) (jetstream.ObjectStore, error) {
	o.enter()
	return nil, nil
}

func (o overlapJS) CreateOrUpdateConsumer(context.Context, string, jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	o.enter()
	return nil, nil
}

// Handles serialized on one mutex never create at once, whichever kind of thing they create.
func TestSerializedTakesTurns(t *testing.T) {
	var now, most atomic.Int64
	var mu sync.Mutex
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 4 {
		js := stream.Serialized(overlapJS{now: &now, most: &most}, &mu)
		wg.Go(func() {
			for range 10 {
				_, _ = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{})
				_, _ = js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{})
				_, _ = js.CreateOrUpdateConsumer(ctx, "S", jetstream.ConsumerConfig{})
			}
		})
	}
	wg.Wait()
	if m := most.Load(); m != 1 {
		t.Errorf("%d creations at once; want 1", m)
	}
}
