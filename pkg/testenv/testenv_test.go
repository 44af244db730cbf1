package testenv_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/auditpipe/auditpipe/pkg/testenv"
)

func TestRedisRoundTrip(t *testing.T) {
	t.Parallel()
	r := testenv.Redis(t)
	c := r.Client(t)
	ctx := context.Background()
	key := r.Prefix + "k"
	if err := c.Set(ctx, key, "v", time.Minute).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	got, err := c.Get(ctx, key).Result()
	if err != nil || got != "v" {
		t.Fatalf("GET = %q, %v; want v", got, err)
	}
	// Lua is what the lease code relies on.
	n, err := c.Eval(ctx, "return redis.call('INCRBY', KEYS[1], ARGV[1])", []string{r.Prefix + "n"}, 41).Int()
	if err != nil || n != 41 {
		t.Fatalf("EVAL = %d, %v; want 41", n, err)
	}
}

func TestRedisServersAreIndependent(t *testing.T) {
	t.Parallel()
	a, b := testenv.Redis(t), testenv.Redis(t)
	if a.Prefix == b.Prefix {
		t.Fatalf("two calls share prefix %q", a.Prefix)
	}
	if a.Source == "redis-server" && a.Addr == b.Addr {
		t.Fatalf("two started servers share %s", a.Addr)
	}
}

func TestNATSJetStreamRoundTrip(t *testing.T) {
	t.Parallel()
	n := testenv.NATS(t)
	js, err := jetstream.New(n.Conn(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}}); err != nil {
		t.Fatalf("create stream: %v", err)
	}
	ack, err := js.Publish(ctx, "t.a", []byte("hello"), jetstream.WithMsgID("id-1"))
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	dup, err := js.Publish(ctx, "t.a", []byte("hello"), jetstream.WithMsgID("id-1"))
	if err != nil {
		t.Fatalf("publish duplicate: %v", err)
	}
	if !dup.Duplicate || dup.Sequence != ack.Sequence {
		t.Fatalf("duplicate ack = %+v; want Duplicate of seq %d", dup, ack.Sequence)
	}
	stream, err := js.Stream(ctx, "T")
	if err != nil {
		t.Fatal(err)
	}
	got, err := stream.GetMsg(ctx, ack.Sequence)
	if err != nil || string(got.Data) != "hello" {
		t.Fatalf("get = %v, %v; want hello", got, err)
	}
}

func TestNATSRestartKeepsJetStreamData(t *testing.T) {
	t.Parallel()
	n := testenv.NATS(t, testenv.WithMaxPayload(2048))
	url := n.URL
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	js, err := jetstream.New(n.Conn(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "R", Subjects: []string{"r"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "r", make([]byte, 4096)); err == nil {
		t.Fatal("publish over max payload succeeded; want an error")
	}
	if _, err := js.Publish(ctx, "r", []byte("kept")); err != nil {
		t.Fatal(err)
	}
	n.Restart()
	if n.URL != url {
		t.Fatalf("restart moved the server from %s to %s", url, n.URL)
	}
	js2, err := jetstream.New(n.Conn(t))
	if err != nil {
		t.Fatal(err)
	}
	s, err := js2.Stream(ctx, "R")
	if err != nil {
		t.Fatalf("stream after restart: %v", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Fatalf("messages after restart = %d; want 1", info.State.Msgs)
	}
	if _, err := js2.Stream(ctx, "missing"); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("missing stream: %v; want ErrStreamNotFound", err)
	}
}

func TestClosedAddrRefuses(t *testing.T) {
	addr := testenv.ClosedAddr(t)
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err == nil {
		conn.Close()
		t.Fatalf("a connection to %s was accepted; want it refused", addr)
	}
}
