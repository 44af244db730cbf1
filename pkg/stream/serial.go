package stream

import (
	"context"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// Serialized returns js with its stream, object store and consumer creations and updates
// (what Ensure and EnsureConsumer call) taking turns, under mu, with those of every other
// handle serialized on the same mu; every other call goes straight to js.
//
// It is for several engines sharing one nats-server inside one process (the demo, tests),
// with one mu per server: nats-server (v2.12) reads every stream's configuration without its
// lock while it creates or updates one, which the race detector reports when goroutines do
// it at once. Separate processes, as in production, cannot race inside a server and need no
// Serialized.
func Serialized(js jetstream.JetStream, mu *sync.Mutex) jetstream.JetStream {
	return serialized{JetStream: js, mu: mu}
}

type serialized struct {
	jetstream.JetStream
	mu *sync.Mutex
}

func (s serialized) CreateOrUpdateStream(ctx context.Context, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.JetStream.CreateOrUpdateStream(ctx, cfg)
}

func (s serialized) CreateOrUpdateObjectStore(ctx context.Context, cfg jetstream.ObjectStoreConfig) (jetstream.ObjectStore, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.JetStream.CreateOrUpdateObjectStore(ctx, cfg)
}

func (s serialized) CreateOrUpdateConsumer(ctx context.Context, stream string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.JetStream.CreateOrUpdateConsumer(ctx, stream, cfg)
}
