package e2e

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/auditpipe/auditpipe/pkg/stream"
	"github.com/auditpipe/auditpipe/pkg/streamcheck"
)

// jetStream connects to the env's NATS server.
func (e env) jetStream(t testing.TB) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(e.nats.Conn(t))
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// streamMsgs is how many messages the events stream holds; 0 before it exists.
func streamMsgs(ctx context.Context, t testing.TB, js jetstream.JetStream) uint64 {
	t.Helper()
	s, err := js.Stream(ctx, stream.DefaultName)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// exactlyOnce reads the whole events stream and fails t unless it holds every event of want
// exactly once, intact, and nothing else (streamcheck.ExactlyOnce).
func exactlyOnce(t testing.TB, js jetstream.JetStream, want streamcheck.Want) {
	t.Helper()
	streamcheck.ExactlyOnce(t, streamCtx(t), js, stream.DefaultName, want)
	t.Logf("stream holds each of the %d events exactly once, intact", len(want))
}

// some is at most five of ids, sorted, for a failure message.
func some(ids []string) []string {
	slices.Sort(ids)
	return ids[:min(5, len(ids))]
}
