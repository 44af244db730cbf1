// Package streamcheck proves what a JetStream events stream holds against the manifest of a
// simulated Teleport log (package teleportsim): every event exactly once under its message id
// (an audit event by its uid, a recording event by sid:ei), intact, and nothing else. Intact
// means that the body, resolved from the object store when the message carries a reference,
// hashes to the manifest's SHA-256 as it is or in canonical form (teleportsim.CanonicalJSON),
// in case it was re-encoded on the way (the gRPC API carries events as protobuf Structs).
//
// Want is what must arrive: built from a Log ([WantLog]) or from the JSON-lines manifest that
// the teleport-sim binary writes ([ReadWant]), and extendable by the caller (a replay's ids
// under their prefix, say). A [Tally] takes messages one by one, as (headers, body) pairs, and
// says what is wrong in its [Report]; [Read] feeds a Tally from a whole stream, and
// [ExactlyOnce] fails a test unless the Report is clean.
//
// It is a package of its own, not part of teleportsim or testenv: reading a stream needs NATS
// and pkg/stream, which the simulator (a dependency of the demo and of the teleport-sim
// binary) has no business importing, and testenv starts servers rather than checking what
// they hold.
package streamcheck

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/stream"
	"github.com/auditpipe/auditpipe/pkg/teleportsim"
)

// Want maps the message id of every event a stream must hold to the hex SHA-256 of the
// event's JSON (teleportsim.ManifestEntry.SHA256).
type Want map[string]string

// ID is the message id the event of e reaches the stream with (event.Event.ID): its uid for
// an audit event, sid:ei for a recording event. An entry without the id its kind needs, or of
// another kind, is an error.
func ID(e teleportsim.ManifestEntry) (string, error) {
	switch e.Kind {
	case teleportsim.KindAudit:
		if e.UID == "" {
			return "", fmt.Errorf("streamcheck: audit manifest entry without a uid: %+v", e)
		}
	case teleportsim.KindSession:
		if e.SessionID == "" {
			return "", fmt.Errorf("streamcheck: session manifest entry without a sid: %+v", e)
		}
	default:
		return "", fmt.Errorf("streamcheck: manifest entry of unknown kind %q: %+v", e.Kind, e)
	}
	return event.Event{Kind: event.Kind(e.Kind), UID: e.UID, SessionID: e.SessionID, Index: e.Index}.ID(), nil
}

// Add adds the event of e. An entry whose id (see ID) w holds already is an error: a manifest
// lists each event once per kind.
func (w Want) Add(e teleportsim.ManifestEntry) error {
	id, err := ID(e)
	if err != nil {
		return err
	}
	if _, dup := w[id]; dup {
		return fmt.Errorf("streamcheck: the manifest holds id %s twice", id)
	}
	w[id] = e.SHA256
	return nil
}

// WantLog is the Want of every event of l's Manifest, or, when keep is not nil, of those for
// which keep returns true.
func WantLog(l *teleportsim.Log, keep func(teleportsim.ManifestEntry) bool) (Want, error) {
	w := Want{}
	var err error
	l.Manifest(func(e teleportsim.ManifestEntry) bool {
		if keep != nil && !keep(e) {
			return true
		}
		err = w.Add(e)
		return err == nil
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// ReadWant is the Want of a manifest written as JSON lines (teleportsim.Log.WriteManifest,
// teleport-sim --manifest).
func ReadWant(r io.Reader) (Want, error) {
	w := Want{}
	dec := json.NewDecoder(bufio.NewReader(r))
	for {
		var e teleportsim.ManifestEntry
		if err := dec.Decode(&e); errors.Is(err, io.EOF) {
			return w, nil
		} else if err != nil {
			return nil, fmt.Errorf("streamcheck: manifest: %w", err)
		}
		if err := w.Add(e); err != nil {
			return nil, err
		}
	}
}

// Tally counts the messages of a stream against a Want. It is not safe for concurrent use.
type Tally struct {
	want     Want
	count    map[string]int
	altered  map[string]bool
	messages int
	objects  int
}

// NewTally returns an empty Tally against want, which it does not modify.
func NewTally(want Want) *Tally {
	return &Tally{want: want, count: map[string]int{}, altered: map[string]bool{}}
}

// Add counts one message: h is its headers, which give its id (Nats-Msg-Id) and say whether
// its body is kept in the object store (stream.HeaderObject), and body is its event body,
// resolved (stream.BodyReader.Resolve). A wanted id is altered when any of its messages has
// a body other than the event's.
func (t *Tally) Add(h nats.Header, body []byte) {
	id := h.Get(jetstream.MsgIDHeader)
	t.messages++
	t.count[id]++
	if h.Get(stream.HeaderObject) != "" {
		t.objects++
	}
	if sum, ok := t.want[id]; ok && !Intact(body, sum) {
		t.altered[id] = true
	}
}

// Messages is the number of messages counted so far.
func (t *Tally) Messages() int { return t.messages }

// Intact reports whether body is the event whose JSON hashes to sum (hex SHA-256), as it is
// or in canonical form: teleportsim's events are canonical JSON, so a body re-encoded on the
// way (through protobuf's Struct) hashes to sum again once made canonical.
func Intact(body []byte, sum string) bool {
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

// Report is what a Tally found. Its id lists are sorted.
type Report struct {
	Events     int // events wanted
	Messages   int // messages counted
	Objects    int // messages whose body was kept in the object store
	Duplicates int // messages beyond the first of their id, wanted or not

	Missing    []string // wanted ids no message has
	Twice      []string // wanted ids more than one message has
	Altered    []string // wanted ids a message has with a body other than the event's
	Unexpected []string // ids of messages that are not wanted (a message without an id: "")
}

// Report is what the Tally has counted so far.
func (t *Tally) Report() Report {
	r := Report{Events: len(t.want), Messages: t.messages, Objects: t.objects}
	for id := range t.want {
		switch n := t.count[id]; {
		case n == 0:
			r.Missing = append(r.Missing, id)
		case n > 1:
			r.Twice = append(r.Twice, id)
		}
		if t.altered[id] {
			r.Altered = append(r.Altered, id)
		}
	}
	for id, n := range t.count {
		r.Duplicates += n - 1
		if _, ok := t.want[id]; !ok {
			r.Unexpected = append(r.Unexpected, id)
		}
	}
	for _, ids := range [][]string{r.Missing, r.Twice, r.Altered, r.Unexpected} {
		slices.Sort(ids)
	}
	return r
}

// Err is nil when every wanted event was counted exactly once, intact, and nothing else was;
// otherwise it says how many ids are missing, unexpected, more than once and altered, with
// the first five of each.
func (r Report) Err() error {
	if len(r.Missing)+len(r.Unexpected)+len(r.Twice)+len(r.Altered) == 0 {
		return nil
	}
	return fmt.Errorf("stream holds %d messages for %d events: %d missing %q, %d unexpected %q, %d more than once %q, %d altered %q",
		r.Messages, r.Events, len(r.Missing), head(r.Missing), len(r.Unexpected), head(r.Unexpected),
		len(r.Twice), head(r.Twice), len(r.Altered), head(r.Altered))
}

func head(ids []string) []string { return ids[:min(len(ids), 5)] }

// Read reads every message the stream called name holds when it starts, through an ephemeral
// consumer without acks that it deletes afterwards, resolves each body (stream.BodyReader)
// and returns the Report of a Tally against want. A stream that does not exist reads as
// empty. The error is for what prevented the reading (a message that cannot be fetched, a
// body that cannot be resolved, ctx ending first); the check's verdict is Report.Err.
func Read(ctx context.Context, js jetstream.JetStream, name string, want Want) (Report, error) {
	tally := NewTally(want)
	s, err := js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return tally.Report(), nil
	}
	if err != nil {
		return Report{}, fmt.Errorf("streamcheck: stream %s: %w", name, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("streamcheck: stream %s: %w", name, err)
	}
	n := int(info.State.Msgs)
	if n == 0 {
		return tally.Report(), nil
	}
	cons, err := s.CreateConsumer(ctx, jetstream.ConsumerConfig{AckPolicy: jetstream.AckNonePolicy})
	if err != nil {
		return Report{}, fmt.Errorf("streamcheck: stream %s: %w", name, err)
	}
	defer func() { _ = s.DeleteConsumer(context.Background(), cons.CachedInfo().Name) }()
	bodies := stream.NewBodyReader(js)
	for tally.Messages() < n {
		before := tally.Messages()
		batch, err := cons.FetchNoWait(10_000)
		if err != nil {
			return Report{}, fmt.Errorf("streamcheck: after %d of %d messages: %w", tally.Messages(), n, err)
		}
		for m := range batch.Messages() {
			body, err := bodies.Resolve(ctx, m.Headers(), m.Data())
			if err != nil {
				return Report{}, fmt.Errorf("streamcheck: message %s: %w", m.Headers().Get(jetstream.MsgIDHeader), err)
			}
			tally.Add(m.Headers(), body)
		}
		if err := batch.Error(); err != nil {
			return Report{}, fmt.Errorf("streamcheck: after %d of %d messages: %w", tally.Messages(), n, err)
		}
		if ctx.Err() != nil {
			return Report{}, fmt.Errorf("streamcheck: read %d of %d messages in time: %w", tally.Messages(), n, ctx.Err())
		}
		if tally.Messages() == before { // nothing yet: do not spin
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	return tally.Report(), nil
}

// ExactlyOnce reads the stream called name (see Read) and fails t unless it holds each event
// of want exactly once, intact, and nothing else. It returns the Report, for what a test
// checks beyond (e.g. that some bodies went through the object store).
func ExactlyOnce(t testing.TB, ctx context.Context, js jetstream.JetStream, name string, want Want) Report {
	t.Helper()
	r, err := Read(ctx, js, name, want)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return r
}
