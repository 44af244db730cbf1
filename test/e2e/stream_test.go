package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/auditpipe/auditpipe/pkg/stream"
	"github.com/auditpipe/auditpipe/pkg/teleportsim"
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

// exactlyOnce reads the whole events stream and checks that it holds every event of want
// (message id → SHA-256 of the event JSON) exactly once, intact, and nothing else.
func exactlyOnce(t testing.TB, js jetstream.JetStream, want map[string]string) {
	t.Helper()
	ctx := streamCtx(t)
	total := int(streamMsgs(ctx, t, js))
	cons, err := js.OrderedConsumer(ctx, stream.DefaultName, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	bodies := stream.NewBodyReader(js)
	count := map[string]int{}
	var corrupt []string
	for read := 0; read < total; {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			read++
			id := m.Headers().Get(jetstream.MsgIDHeader)
			count[id]++
			body, err := bodies.Resolve(ctx, m.Headers(), m.Data())
			if err != nil {
				t.Fatalf("message %s: %v", id, err)
			}
			if h, ok := want[id]; ok && count[id] == 1 && !sameJSON(body, h) {
				corrupt = append(corrupt, id)
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			t.Fatal(err)
		}
	}
	var missing, twice, extra []string
	for id := range want {
		switch n := count[id]; {
		case n == 0:
			missing = append(missing, id)
		case n > 1:
			twice = append(twice, id)
		}
	}
	for id := range count {
		if _, ok := want[id]; !ok {
			extra = append(extra, id)
		}
	}
	if len(missing)+len(twice)+len(extra)+len(corrupt) > 0 {
		t.Fatalf("stream holds %d messages for %d events: %d missing %v, %d more than once %v, %d unexpected %v, %d altered %v",
			total, len(want), len(missing), some(missing), len(twice), some(twice), len(extra), some(extra), len(corrupt), some(corrupt))
	}
	t.Logf("stream holds each of the %d events exactly once, intact", len(want))
}

// sameJSON reports whether body is the event whose JSON hashes to sum. teleport-sim's events
// are canonical JSON; a body re-encoded on the way is compared in canonical form.
func sameJSON(body []byte, sum string) bool {
	if digest(body) == sum {
		return true
	}
	canon, err := teleportsim.CanonicalJSON(body)
	return err == nil && !bytes.Equal(canon, body) && digest(canon) == sum
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// some is at most five of ids, sorted, for a failure message.
func some(ids []string) []string {
	slices.Sort(ids)
	return ids[:min(5, len(ids))]
}
