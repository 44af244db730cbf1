package demo

import (
	"context"
	"fmt"
	"sync"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
)

// startNATS starts an embedded nats-server with JetStream on a free port of 127.0.0.1, its
// store in storeDir. It logs nothing and handles no signal: the demo stops it.
func startNATS(storeDir string) (*natsserver.Server, error) {
	s, err := natsserver.NewServer(&natsserver.Options{
		ServerName: "auditpipe-demo",
		Host:       "127.0.0.1",
		Port:       natsserver.RANDOM_PORT,
		JetStream:  true,
		StoreDir:   storeDir,
		NoLog:      true,
		NoSigs:     true,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded nats-server: %w", err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("embedded nats-server: not ready within 10s")
	}
	return s, nil
}

// serialJS is a JetStream handle whose stream, bucket and consumer creations and updates take
// turns with those of every other handle sharing mu. Every engine of the demo runs
// stream.Ensure at start, all against one embedded server, and nats-server (v2.12) reads the
// streams' configurations without their lock while it creates or updates one, which the race
// detector reports. Separate processes cannot race inside one server; goroutines can.
type serialJS struct {
	jetstream.JetStream
	mu *sync.Mutex
}

func (s serialJS) CreateOrUpdateStream(ctx context.Context, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.JetStream.CreateOrUpdateStream(ctx, cfg)
}

func (s serialJS) CreateOrUpdateObjectStore(ctx context.Context, cfg jetstream.ObjectStoreConfig) (jetstream.ObjectStore, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.JetStream.CreateOrUpdateObjectStore(ctx, cfg)
}

func (s serialJS) CreateOrUpdateConsumer(ctx context.Context, stream string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.JetStream.CreateOrUpdateConsumer(ctx, stream, cfg)
}
