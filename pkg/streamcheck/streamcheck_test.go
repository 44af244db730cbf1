package streamcheck_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/stream"
	"github.com/auditpipe/auditpipe/pkg/streamcheck"
	"github.com/auditpipe/auditpipe/pkg/teleportsim"
	"github.com/auditpipe/auditpipe/pkg/testenv"
)

var (
	testTo   = time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	testFrom = testTo.Add(-48 * time.Hour)
)

func newLog(t testing.TB, o teleportsim.Options) *teleportsim.Log {
	t.Helper()
	o.Seed, o.From, o.To = 7, testFrom, testTo
	now := testTo.Add(time.Hour) // every recording uploaded
	o.Now = func() time.Time { return now }
	l, err := teleportsim.NewLog(o)
	if err != nil {
		t.Fatalf("NewLog: %v", err)
	}
	return l
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// served is every audit event of l and the events of every recording its session.upload
// events announce, as the simulator serves them.
func served(t testing.TB, l *teleportsim.Log) []teleportsim.Event {
	t.Helper()
	var out []teleportsim.Event
	for key := ""; ; {
		page, next, err := l.Search(teleportsim.SearchQuery{From: testFrom, To: testTo, Limit: teleportsim.MaxSearchLimit, StartKey: key})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page...)
		if next == "" {
			break
		}
		key = next
	}
	var recordings []teleportsim.Event
	for _, ev := range out {
		if ev.Type != "session.upload" {
			continue
		}
		if err := l.SessionEvents(ev.SessionID, 0, func(e teleportsim.Event) error {
			recordings = append(recordings, e)
			return nil
		}); err != nil {
			t.Fatalf("SessionEvents %s: %v", ev.SessionID, err)
		}
	}
	return append(out, recordings...)
}

func header(id string) nats.Header {
	h := nats.Header{}
	if id != "" {
		h.Set(jetstream.MsgIDHeader, id)
	}
	return h
}

// TestWant: WantLog and ReadWant give the same ids, audit events by uid and recording events
// by sid:ei, each with the hash of the JSON the simulator serves; keep selects entries.
func TestWant(t *testing.T) {
	l := newLog(t, teleportsim.Options{Count: 500})
	want, err := streamcheck.WantLog(l, nil)
	if err != nil {
		t.Fatal(err)
	}
	events := served(t, l)
	if len(want) != len(events) {
		t.Fatalf("WantLog has %d ids, the simulator serves %d events", len(want), len(events))
	}
	sessions := 0
	for _, ev := range events {
		id := ev.UID
		if ev.Kind == teleportsim.KindSession {
			id = ev.SessionID + ":" + strconv.FormatInt(ev.Index, 10)
			sessions++
		}
		if want[id] != digest(ev.JSON) {
			t.Fatalf("WantLog[%s] = %q, want the hash of the served JSON %q", id, want[id], digest(ev.JSON))
		}
	}
	if sessions == 0 {
		t.Fatal("the log has no recording events: pick other options")
	}

	var buf bytes.Buffer
	if err := l.WriteManifest(&buf); err != nil {
		t.Fatal(err)
	}
	read, err := streamcheck.ReadWant(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(read) != len(want) {
		t.Fatalf("ReadWant has %d ids, WantLog %d", len(read), len(want))
	}
	for id, h := range want {
		if read[id] != h {
			t.Fatalf("ReadWant[%s] = %q, WantLog %q", id, read[id], h)
		}
	}

	audit, err := streamcheck.WantLog(l, func(e teleportsim.ManifestEntry) bool { return e.Kind == teleportsim.KindAudit })
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != len(want)-sessions {
		t.Fatalf("keep audit events: %d ids, want %d", len(audit), len(want)-sessions)
	}
}

// TestWantRefuses: an entry without the id its kind needs, of an unknown kind, or twice.
func TestWantRefuses(t *testing.T) {
	for _, tt := range []struct {
		name    string
		entries []teleportsim.ManifestEntry
		err     string
	}{
		{"audit without uid", []teleportsim.ManifestEntry{{Kind: teleportsim.KindAudit, SHA256: "x"}}, "without a uid"},
		{"session without sid", []teleportsim.ManifestEntry{{Kind: teleportsim.KindSession, UID: "u", Index: 3}}, "without a sid"},
		{"unknown kind", []teleportsim.ManifestEntry{{Kind: "other", UID: "u"}}, "unknown kind"},
		{"twice", []teleportsim.ManifestEntry{{Kind: teleportsim.KindAudit, UID: "u"}, {Kind: teleportsim.KindAudit, UID: "u"}}, "id u twice"},
		{"recording twice", []teleportsim.ManifestEntry{{Kind: teleportsim.KindSession, SessionID: "s", Index: 1},
			{Kind: teleportsim.KindSession, SessionID: "s", Index: 1, UID: "other"}}, "id s:1 twice"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := streamcheck.Want{}
			var err error
			for _, e := range tt.entries {
				if err = w.Add(e); err != nil {
					break
				}
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Add: %v, want an error with %q", err, tt.err)
			}
		})
	}
	// The same uid as an audit event and in a recording is two ids.
	w := streamcheck.Want{}
	for _, e := range []teleportsim.ManifestEntry{{Kind: teleportsim.KindAudit, UID: "u"}, {Kind: teleportsim.KindSession, UID: "u", SessionID: "s", Index: 0}} {
		if err := w.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := w["s:0"]; !ok || len(w) != 2 {
		t.Fatalf("Want = %v, want ids u and s:0", w)
	}
	if _, err := streamcheck.ReadWant(strings.NewReader(`{"uid":"a","kind":"audit"}` + "\n" + `not json`)); err == nil {
		t.Fatal("ReadWant accepted a line that is not JSON")
	}
}

// TestTally: a clean tally, and each way a stream can be wrong, alone and together.
func TestTally(t *testing.T) {
	a := []byte(`{"a":1,"b":"x","ei":0,"uid":"u1"}`)
	b := []byte(`{"b":2,"uid":"u2"}`)
	c := []byte(`{"ei":4,"sid":"s"}`)
	want := streamcheck.Want{"u1": digest(a), "u2": digest(b), "s:4": digest(c)}
	type msg struct {
		id   string
		body []byte
	}
	all := []msg{{"u1", a}, {"u2", b}, {"s:4", c}}
	for _, tt := range []struct {
		name   string
		msgs   []msg
		check  func(streamcheck.Report) bool
		errHas string // "" for a clean report
	}{
		{name: "each once", msgs: all},
		{name: "each once, in another order", msgs: []msg{all[2], all[0], all[1]}},
		{name: "re-encoded body", // the same JSON with other key order and spacing: Struct re-encoding
			msgs: []msg{{"u1", []byte(`{ "uid": "u1", "ei": 0, "b": "x", "a": 1 }`)}, all[1], all[2]}},
		{name: "missing", msgs: all[:2], errHas: `1 missing ["s:4"]`,
			check: func(r streamcheck.Report) bool { return slices.Equal(r.Missing, []string{"s:4"}) }},
		{name: "nothing", errHas: "3 missing",
			check: func(r streamcheck.Report) bool { return len(r.Missing) == 3 && r.Messages == 0 }},
		{name: "duplicate", msgs: append(slices.Clone(all), all[1]), errHas: `1 more than once ["u2"]`,
			check: func(r streamcheck.Report) bool { return slices.Equal(r.Twice, []string{"u2"}) && r.Duplicates == 1 }},
		{name: "altered body", msgs: []msg{all[0], {"u2", []byte(`{"b":3,"uid":"u2"}`)}, all[2]}, errHas: `1 altered ["u2"]`,
			check: func(r streamcheck.Report) bool { return slices.Equal(r.Altered, []string{"u2"}) }},
		{name: "body not JSON", msgs: []msg{all[0], all[1], {"s:4", []byte("garbage")}}, errHas: `1 altered ["s:4"]`},
		{name: "altered second copy", msgs: append(slices.Clone(all), msg{"u1", []byte(`{}`)}), errHas: `1 altered ["u1"]`,
			check: func(r streamcheck.Report) bool { return slices.Equal(r.Twice, []string{"u1"}) }},
		{name: "extra", msgs: append(slices.Clone(all), msg{"u9", a}), errHas: `1 unexpected ["u9"]`,
			check: func(r streamcheck.Report) bool { return slices.Equal(r.Unexpected, []string{"u9"}) && r.Messages == 4 }},
		{name: "without an id", msgs: append(slices.Clone(all), msg{"", a}), errHas: `1 unexpected [""]`},
		{name: "extra twice", msgs: append(slices.Clone(all), msg{"u9", a}, msg{"u9", a}), errHas: `1 unexpected ["u9"]`,
			check: func(r streamcheck.Report) bool { return r.Duplicates == 1 && len(r.Twice) == 0 }},
		{name: "everything wrong", msgs: []msg{all[0], all[0], {"u2", a}, {"x", c}},
			errHas: `stream holds 4 messages for 3 events: 1 missing ["s:4"], 1 unexpected ["x"], 1 more than once ["u1"], 1 altered ["u2"]`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tally := streamcheck.NewTally(want)
			for _, m := range tt.msgs {
				tally.Add(header(m.id), m.body)
			}
			r := tally.Report()
			err := r.Err()
			if tt.errHas == "" {
				if err != nil {
					t.Fatalf("Err() = %v, want nil; report %+v", err, r)
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("Err() = %v, want one that says %s", err, tt.errHas)
			}
			if r.Events != 3 || r.Messages != len(tt.msgs) || tally.Messages() != len(tt.msgs) {
				t.Errorf("report counts %d events, %d messages; want 3, %d", r.Events, r.Messages, len(tt.msgs))
			}
			if tt.check != nil && !tt.check(r) {
				t.Errorf("report %+v", r)
			}
		})
	}
	if len(want) != 3 {
		t.Fatalf("the tallies changed want: %v", want)
	}
}

// TestTallySorted: the id lists are sorted, and Err shows the first five.
func TestTallySorted(t *testing.T) {
	want := streamcheck.Want{}
	for i := range 8 {
		want["m"+strconv.Itoa(7-i)] = "x"
	}
	r := streamcheck.NewTally(want).Report()
	if !slices.IsSorted(r.Missing) || len(r.Missing) != 8 {
		t.Fatalf("Missing = %v", r.Missing)
	}
	if err := r.Err(); err == nil || !strings.Contains(err.Error(), `8 missing ["m0" "m1" "m2" "m3" "m4"]`) {
		t.Fatalf("Err() = %v", err)
	}
}

// TestRead publishes a simulated log as ingest does, its >1 MiB event through the object
// store, and reads it back; then a message that is not wanted, a duplicate that JetStream
// kept (a replay-like id) and a missing event show in the Report.
func TestRead(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := testenv.NATS(t)
	js, err := jetstream.New(ns.Conn(t))
	if err != nil {
		t.Fatal(err)
	}
	opts := stream.Options{Name: "CHECK", Storage: jetstream.MemoryStorage}

	// Before the stream exists: empty, every event missing.
	want := streamcheck.Want{"u": digest([]byte(`{}`))}
	r, err := streamcheck.Read(ctx, js, opts.Name, want)
	if err != nil || !slices.Equal(r.Missing, []string{"u"}) || r.Messages != 0 {
		t.Fatalf("Read of no stream: %+v, %v", r, err)
	}

	if err := stream.Ensure(ctx, js, opts); err != nil {
		t.Fatal(err)
	}
	l := newLog(t, teleportsim.Options{Count: 300, HugeEvents: 1})
	if want, err = streamcheck.WantLog(l, nil); err != nil {
		t.Fatal(err)
	}
	var page []event.Event
	for _, ev := range served(t, l) {
		e, err := event.Parse(event.Kind(ev.Kind), ev.JSON)
		if err != nil {
			t.Fatal(err)
		}
		if e.SessionID == "" {
			e.SessionID = ev.SessionID // print events carry no sid of their own: ingest sets it
		}
		page = append(page, e)
	}
	pub, err := stream.NewPublisher(ctx, js, stream.PublisherOptions{Stream: opts})
	if err != nil {
		t.Fatal(err)
	}
	// Every event but the last, which goes missing.
	if _, err := pub.PublishPage(ctx, page[:len(page)-1], event.Replay{}); err != nil {
		t.Fatal(err)
	}
	lastID := page[len(page)-1].ID()
	r, err = streamcheck.Read(ctx, js, opts.Name, want)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Missing, []string{lastID}) || len(r.Twice)+len(r.Altered)+len(r.Unexpected) > 0 {
		t.Fatalf("Read: %+v, want only %s missing", r, lastID)
	}
	if r.Objects != 1 {
		t.Fatalf("Read found %d bodies in the object store, want the huge event's 1", r.Objects)
	}

	if _, err := pub.PublishPage(ctx, page[len(page)-1:], event.Replay{}); err != nil {
		t.Fatal(err)
	}
	r = streamcheck.ExactlyOnce(t, ctx, js, opts.Name, want)
	if r.Messages != len(want) || r.Objects != 1 {
		t.Fatalf("ExactlyOnce: %+v", r)
	}

	// A message the log does not have.
	extra := &nats.Msg{Subject: page[0].Subject(), Header: header("not-an-event"), Data: page[0].Body}
	if _, err := js.PublishMsg(ctx, extra); err != nil {
		t.Fatal(err)
	}
	r, err = streamcheck.Read(ctx, js, opts.Name, want)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Err(); err == nil || !slices.Equal(r.Unexpected, []string{"not-an-event"}) || r.Messages != len(want)+1 {
		t.Fatalf("Read after an extra message: %+v, Err %v", r, err)
	}
}
