package ingest_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/ingest"
	"github.com/auditpipe/auditpipe/pkg/teleportsim"
	"github.com/auditpipe/auditpipe/pkg/window"
)

// TestReplaySinksTypesAndCount: a replay restricted to some sinks and types, in an epoch of
// either mode, publishes exactly the audit events of its range and types (and the recordings
// of its session.upload events), every message naming the replay's sinks in
// event.HeaderReplaySinks; a replay to every sink, and the ordinary export, carry no sink
// list. Once ingest is done with each replay, its Events count equals the audit events it
// published.
func TestReplaySinksTypesAndCount(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, mode ingest.Mode) {
		from, to := recent(2)
		log := newLog(t, teleportsim.Options{Count: 3000, From: from, To: to})
		e := newEnv(t)
		cfg := e.config("first", from)
		cfg.Mode = mode
		if _, err := e.runToExit(cfg, newSimSource(log), 60*time.Second); err != nil {
			t.Fatalf("first Run: %v", err)
		}

		types := []string{"user.login", "session.upload", "session.start"}
		narrow := window.ReplaySpec{ID: "narrow", From: from.Add(6 * time.Hour), To: from.Add(12 * time.Hour),
			WindowSize: time.Hour, Types: types, Sinks: []string{"datadog"}}
		wide := window.ReplaySpec{ID: "wide", From: from.Add(20 * time.Hour), To: from.Add(23 * time.Hour), WindowSize: time.Hour}
		store := e.store()
		for _, spec := range []window.ReplaySpec{narrow, wide} {
			if _, err := store.CreateReplay(t.Context(), spec); err != nil {
				t.Fatal(err)
			}
		}
		// Each replay's events: the audit events of its range and types, and the
		// recordings of the sessions whose session.upload is among them.
		replayed := func(spec window.ReplaySpec) (want map[string]string, audit int) {
			uploads := map[string]bool{}
			want = expected(t, log, func(m teleportsim.ManifestEntry) bool {
				in := m.Kind == teleportsim.KindAudit && !m.Time.Before(spec.From) && m.Time.Before(spec.To) &&
					(len(spec.Types) == 0 || slices.Contains(spec.Types, m.Type))
				if in {
					audit++
					if m.Type == "session.upload" {
						uploads[m.SessionID] = true
					}
				}
				return in || m.Kind == teleportsim.KindSession && uploads[m.SessionID]
			})
			if len(uploads) == 0 {
				t.Fatalf("no session.upload in the range of replay %s: pick another", spec.ID)
			}
			return want, audit
		}
		wantNarrow, auditNarrow := replayed(narrow)
		wantWide, auditWide := replayed(wide)

		cfg = e.config("second", from)
		cfg.Mode = mode
		if _, err := e.runToExit(cfg, newSimSource(log), 60*time.Second); err != nil {
			t.Fatalf("second Run: %v", err)
		}

		headers := e.headers()
		check := func(spec window.ReplaySpec, want map[string]string, sinks string) {
			t.Helper()
			prefix := "replay:" + spec.ID + ":"
			got := map[string]bool{}
			for id, h := range headers {
				rest, ok := strings.CutPrefix(id, prefix)
				if !ok {
					continue
				}
				got[rest] = true
				if _, ok := want[rest]; !ok {
					t.Errorf("replay %s published %s (type %s), which is not in its range and types", spec.ID, rest, h.Get(event.HeaderType))
				}
				if s := h.Get(event.HeaderReplaySinks); s != sinks {
					t.Errorf("replay %s message %s: %s = %q; want %q", spec.ID, rest, event.HeaderReplaySinks, s, sinks)
				}
				if r := h.Get(event.HeaderReplayID); r != spec.ID {
					t.Errorf("replay %s message %s: %s = %q", spec.ID, rest, event.HeaderReplayID, r)
				}
			}
			for id := range want {
				if !got[id] {
					t.Errorf("replay %s did not publish %s", spec.ID, id)
				}
			}
		}
		check(narrow, wantNarrow, "datadog")
		check(wide, wantWide, "")
		for id, h := range headers {
			if !strings.HasPrefix(id, "replay:") && (h.Get(event.HeaderReplaySinks) != "" || h.Get(event.HeaderReplayID) != "") {
				t.Errorf("message %s of the ordinary export carries replay headers %v", id, h)
			}
		}

		for _, c := range []struct {
			id    string
			audit int
		}{{narrow.ID, auditNarrow}, {wide.ID, auditWide}} {
			rp, err := store.Replay(t.Context(), c.id)
			if err != nil {
				t.Fatal(err)
			}
			if rp.State != window.ReplayDone || rp.Events != int64(c.audit) {
				t.Errorf("replay %s: state %s, events %d; want done with the %d audit events of its range", c.id, rp.State, rp.Events, c.audit)
			}
		}
	})
}

// headers reads the headers of every message in the stream, by message id; each id must
// be there once.
func (e *env) headers() map[string]nats.Header {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out := map[string]nats.Header{}
	n := int(e.streamCount(ctx))
	if n == 0 {
		return out
	}
	cons, err := e.js.CreateConsumer(ctx, e.stream, jetstream.ConsumerConfig{AckPolicy: jetstream.AckNonePolicy})
	if err != nil {
		e.t.Fatal(err)
	}
	defer func() { _ = e.js.DeleteConsumer(context.Background(), e.stream, cons.CachedInfo().Name) }()
	for total := 0; total < n; {
		batch, err := cons.FetchNoWait(10_000)
		if err != nil {
			e.t.Fatalf("after %d of %d messages: %v", total, n, err)
		}
		for m := range batch.Messages() {
			id := m.Headers().Get(jetstream.MsgIDHeader)
			if _, dup := out[id]; dup {
				e.t.Fatalf("message id %s twice in the stream", id)
			}
			out[id] = m.Headers()
			total++
		}
		if err := batch.Error(); err != nil {
			e.t.Fatalf("after %d of %d messages: %v", total, n, err)
		}
		if ctx.Err() != nil {
			e.t.Fatalf("read %d of %d messages in time", total, n)
		}
	}
	return out
}
