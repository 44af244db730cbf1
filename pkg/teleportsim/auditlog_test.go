package teleportsim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/gravitational/teleport/api/client"
	auditlogpb "github.com/gravitational/teleport/api/gen/proto/go/teleport/auditlog/v1"
	"github.com/gravitational/teleport/api/trail"
	apitypes "github.com/gravitational/teleport/api/types"
	"github.com/gravitational/trace"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// An event arrived intact when the entry rebuilt from what the client received equals the
// Log's ManifestEntry for it: same type, uid, time, session id, index and kind, and the same
// SHA-256 over the canonical JSON. The client receives the JSON as a google.protobuf.Struct,
// as from Teleport, so every number is a float64 and key order is lost; CanonicalJSON of the
// Struct's JSON equals the Log's Event.JSON byte for byte exactly when the two documents are
// the same JSON value with numbers compared as float64 (which is what any Teleport exporter
// can get). Duplicates and gaps are caught by keying every event: audit events by the id the
// Server gives (uid, or Teleport's SHA-256 of the JSON when there is none), session events by
// sid and ei.

// wireKey names one event of the manifest, or one received.
func wireKey(e ManifestEntry) string {
	if e.Kind == KindSession {
		return fmt.Sprintf("session/%s/%d", e.SessionID, e.Index)
	}
	if e.UID != "" {
		return "audit/" + e.UID
	}
	return "audit/" + e.SHA256
}

// receivedEntry rebuilds the ManifestEntry of an event as received, checking that its
// envelope (type, id, index, time) is what Teleport's events.ToUnstructured would give. sid is
// the recording the event was streamed from ("" for audit events): some recorded events
// ("print") carry no sid field.
func receivedEntry(t testing.TB, kind Kind, sid string, ev *auditlogpb.EventUnstructured) ManifestEntry {
	t.Helper()
	raw, err := ev.GetUnstructured().MarshalJSON()
	if err != nil {
		t.Fatalf("Struct to JSON: %v", err)
	}
	canonical, err := CanonicalJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(canonical)
	fields := ev.GetUnstructured().AsMap()
	str := func(k string) string { s, _ := fields[k].(string); return s }
	e := ManifestEntry{
		UID:       str("uid"),
		Type:      ev.GetType(),
		Time:      ev.GetTime().AsTime(),
		Kind:      kind,
		SessionID: str("sid"),
		Index:     ev.GetIndex(),
		SHA256:    hex.EncodeToString(sum[:]),
	}
	if sid != "" {
		if e.SessionID != "" && e.SessionID != sid {
			t.Fatalf("recording %s streamed an event of session %s", sid, e.SessionID)
		}
		e.SessionID = sid
	}
	wantID := e.UID
	if wantID == "" {
		wantID = e.SHA256
	}
	ei, _ := fields["ei"].(float64)
	if ev.GetId() != wantID || ev.GetType() != str("event") || ev.GetIndex() != int64(ei) {
		t.Fatalf("envelope id %q type %q index %d does not match the event %s", ev.GetId(), ev.GetType(), ev.GetIndex(), canonical)
	}
	if wantTime, err := time.Parse(time.RFC3339Nano, str("time")); err != nil || !wantTime.Equal(e.Time) {
		t.Fatalf("envelope time %v does not match the event's %q", e.Time, str("time"))
	}
	return e
}

// entrySet collects received events by key; each key must arrive once.
type entrySet map[string]ManifestEntry

func (s entrySet) add(t testing.TB, kind Kind, sid string, evs ...*auditlogpb.EventUnstructured) {
	t.Helper()
	for _, ev := range evs {
		e := receivedEntry(t, kind, sid, ev)
		k := wireKey(e)
		if _, dup := s[k]; dup {
			t.Fatalf("%s arrived twice", k)
		}
		s[k] = e
	}
}

// manifestSet is the Log's manifest of one kind, by key.
func manifestSet(l *Log, kind Kind) entrySet {
	out := entrySet{}
	l.Manifest(func(e ManifestEntry) bool {
		if e.Kind == kind {
			out[wireKey(e)] = e
		}
		return true
	})
	return out
}

// sameEntries reports the differences between the received events and the manifest.
func sameEntries(t testing.TB, what string, got, want entrySet) {
	t.Helper()
	var problems []string
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			problems = append(problems, "missing "+k)
		case !g.Time.Equal(w.Time) || g.UID != w.UID || g.Type != w.Type || g.Kind != w.Kind ||
			g.SessionID != w.SessionID || g.Index != w.Index || g.SHA256 != w.SHA256:
			problems = append(problems, fmt.Sprintf("%s changed: got %+v, want %+v", k, g, w))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			problems = append(problems, "unexpected "+k)
		}
	}
	if len(problems) > 0 {
		if len(problems) > 10 {
			problems = append(problems[:10], fmt.Sprintf("... and %d more", len(problems)-10))
		}
		t.Fatalf("%s: %d events received, %d in the manifest:\n%v", what, len(got), len(want), problems)
	}
}

// reconnector is a client that a test replaces midway, as an exporter that crashed would.
type reconnector struct {
	t      testing.TB
	addr   string
	creds  func() client.Credentials
	clt    *client.Client
	redial int
}

func newReconnector(t testing.TB, addr string, creds func() client.Credentials) *reconnector {
	r := &reconnector{t: t, addr: addr, creds: creds}
	r.clt = dialSim(t, addr, creds())
	return r
}

func (r *reconnector) reconnect() {
	r.t.Helper()
	_ = r.clt.Close()
	r.clt = dialSim(r.t, r.addr, r.creds())
	r.redial++
}

// searchOverWire pages through [from, to] in order. On page crashAt it keeps half of the page,
// reconnects and asks for the same page again from the saved key, checking it is the same.
func searchOverWire(t testing.TB, r *reconnector, order apitypes.EventOrder, limit, crashAt int) entrySet {
	t.Helper()
	ctx := context.Background()
	got := entrySet{}
	var last time.Time
	add := func(page []*auditlogpb.EventUnstructured) {
		for _, ev := range page {
			ts := ev.GetTime().AsTime()
			if !last.IsZero() && (order == apitypes.EventOrderAscending && ts.Before(last) ||
				order == apitypes.EventOrderDescending && ts.After(last)) {
				t.Fatalf("%v after %v breaks the order", ts, last)
			}
			last = ts
		}
		got.add(t, KindAudit, "", page...)
	}
	key, kept := "", []*auditlogpb.EventUnstructured(nil)
	for pages := 1; ; pages++ {
		page, next, err := r.clt.SearchUnstructuredEvents(ctx, simFrom, simTo, "default", nil, limit, order, key)
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		if kept != nil {
			// The page read again after the crash starts with what was kept.
			for i, ev := range kept {
				if i >= len(page) || page[i].GetId() != ev.GetId() {
					t.Fatalf("page re-read from its key differs at %d", i)
				}
			}
			page, kept = page[len(kept):], nil
		} else if pages == crashAt && len(page) > 1 {
			kept = page[:len(page)/2]
			add(kept)
			r.reconnect()
			continue
		}
		add(page)
		if next == "" {
			return got
		}
		key = next
	}
}

// exportOverWire reads every chunk of every day. A chunk longer than crashAfter events is
// interrupted after that many: the test reconnects and resumes from the last event's cursor.
func exportOverWire(t testing.TB, r *reconnector, days []time.Time, crashAfter int) entrySet {
	t.Helper()
	ctx := context.Background()
	got := entrySet{}
	for i, day := range days {
		date := day
		if i%2 == 1 {
			date = day.Add(13*time.Hour + 7*time.Minute) // only the UTC date counts
		}
		chunks := r.clt.GetEventExportChunks(ctx, &auditlogpb.GetEventExportChunksRequest{Date: timestamppb.New(date)})
		var names []string
		for chunks.Next() {
			names = append(names, chunks.Item().GetChunk())
		}
		if err := chunks.Done(); err != nil {
			t.Fatalf("chunks of %v: %v", day, err)
		}
		for _, name := range names {
			cursor, n, interrupted := "", 0, false
			for {
				stream := r.clt.ExportUnstructuredEvents(ctx, &auditlogpb.ExportUnstructuredEventsRequest{
					Date: timestamppb.New(date), Chunk: name, Cursor: cursor,
				})
				interrupted = false
				for stream.Next() {
					item := stream.Item()
					got.add(t, KindAudit, "", item.GetEvent())
					cursor, n = item.GetCursor(), n+1
					if n == crashAfter {
						interrupted = true
						break
					}
				}
				if err := stream.Done(); err != nil {
					t.Fatalf("chunk %s of %v: %v", name, day, err)
				}
				if !interrupted {
					break
				}
				r.reconnect()
			}
		}
	}
	return got
}

// sessionsOverWire streams the recording of every uploaded session. Every third recording is
// hung up on after hangUpAfter events and resumed on a new connection from the next index.
func sessionsOverWire(t testing.TB, r *reconnector, sids []string, hangUpAfter int) entrySet {
	t.Helper()
	got := entrySet{}
	for i, sid := range sids {
		limit := 0
		if i%3 == 0 {
			limit = hangUpAfter
		}
		evs, err := streamSession(r.clt, sid, 0, limit)
		if err != nil {
			t.Fatalf("recording %s: %v", sid, err)
		}
		if limit > 0 && len(evs) == limit {
			r.reconnect()
			rest, err := streamSession(r.clt, sid, evs[len(evs)-1].GetIndex()+1, 0)
			if err != nil {
				t.Fatalf("resumed recording %s: %v", sid, err)
			}
			evs = append(evs, rest...)
		}
		for j, ev := range evs {
			if ev.GetIndex() != evs[0].GetIndex()+int64(j) {
				t.Fatalf("recording %s: index %d at position %d", sid, ev.GetIndex(), j)
			}
		}
		got.add(t, KindSession, sid, evs...)
	}
	return got
}

// streamSession reads a recording from startIndex, all of it or, with limit > 0, that many
// events before it hangs up.
func streamSession(clt *client.Client, sid string, startIndex int64, limit int) ([]*auditlogpb.EventUnstructured, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, errs := clt.StreamUnstructuredSessionEvents(ctx, sid, startIndex)
	var out []*auditlogpb.EventUnstructured
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return out, nil
			}
			out = append(out, ev)
			if len(out) == limit {
				return out, nil
			}
		case err := <-errs:
			return out, err
		}
	}
}

// uploadedSessions is the sid of every session.upload in the manifest.
func uploadedSessions(l *Log) []string {
	var sids []string
	l.Manifest(func(e ManifestEntry) bool {
		if e.Kind == KindAudit && e.Type == "session.upload" {
			sids = append(sids, e.SessionID)
		}
		return true
	})
	return sids
}

// utcDays lists the UTC midnights of the days [from, to) touches.
func utcDays(from, to time.Time) []time.Time {
	var days []time.Time
	for d := from.UTC().Truncate(24 * time.Hour); d.Before(to); d = d.Add(24 * time.Hour) {
		days = append(days, d)
	}
	return days
}

// TestEveryEventArrivesIntactOverTheWire is the simulator's end-to-end proof: Teleport's own
// client reads every event of the Log back through each of the four audit-log RPCs,
// interrupted and resumed midway on new connections, and what arrives is exactly the manifest
// (see the comment at the top of this file).
//
// The credentials only open the connections; what an RPC serves does not depend on them. So
// the identity file reads through all four RPCs, and the key pair through the bulk export,
// whose chunks are cut and resumed on connections it opens again (redials it must make). With
// AUDITPIPE_SIM_FULL=1 the key pair reads through all four RPCs too (the whole matrix takes
// about twice as long with -race).
func TestEveryEventArrivesIntactOverTheWire(t *testing.T) {
	log := simLog(t, 3000, Options{
		ChunkSize:           400,
		DayBoundaries:       true,
		IdenticalTimestamps: 25,
		Unicode:             true,
		LargeEvents:         2,
		HugeEvents:          1,
		SingleEventChunks:   true,
	})
	s := startSim(t, ServerConfig{Log: log})
	audit, sessions := manifestSet(log, KindAudit), manifestSet(log, KindSession)
	sids := uploadedSessions(log)
	if len(audit) < 3000 || len(sessions) == 0 || len(sids) == 0 {
		t.Fatalf("manifest: %d audit events, %d session events, %d uploads", len(audit), len(sessions), len(sids))
	}

	for _, creds := range []struct {
		name string
		load func() client.Credentials
		all  bool // every RPC, else the export only
	}{
		{name: "identity file", load: func() client.Credentials { return identityCreds(s) }, all: true},
		{name: "key pair", load: func() client.Credentials { return keyPairCreds(s) }, all: os.Getenv("AUDITPIPE_SIM_FULL") == "1"},
	} {
		t.Run(creds.name, func(t *testing.T) {
			t.Parallel()
			t.Run("export", func(t *testing.T) {
				t.Parallel()
				r := newReconnector(t, s.Addr(), creds.load)
				sameEntries(t, "export", exportOverWire(t, r, utcDays(simFrom, simTo), 150), audit)
				if r.redial == 0 {
					t.Fatal("no chunk was interrupted")
				}
			})
			if !creds.all {
				return
			}
			t.Run("search ascending", func(t *testing.T) {
				t.Parallel()
				r := newReconnector(t, s.Addr(), creds.load)
				sameEntries(t, "search ascending", searchOverWire(t, r, apitypes.EventOrderAscending, 250, 3), audit)
			})
			t.Run("search descending", func(t *testing.T) {
				t.Parallel()
				r := newReconnector(t, s.Addr(), creds.load)
				sameEntries(t, "search descending", searchOverWire(t, r, apitypes.EventOrderDescending, 250, 5), audit)
			})
			t.Run("session recordings", func(t *testing.T) {
				t.Parallel()
				r := newReconnector(t, s.Addr(), creds.load)
				sameEntries(t, "recordings", sessionsOverWire(t, r, sids, 3), sessions)
			})
		})
	}
}

// TestAuditLogErrorsOverTheWire shows the codes the Log's errors reach the client as, through
// Teleport's trace conversion.
func TestAuditLogErrorsOverTheWire(t *testing.T) {
	log := simLog(t, 500, Options{RecordingDelay: 300 * time.Millisecond})
	s := startSim(t, ServerConfig{Log: log})
	clt := dialSim(t, s.Addr(), identityCreds(s))
	ctx := context.Background()
	day := simFrom
	var chunk string
	if names := exportChunkNames(t, clt, day); len(names) > 0 {
		chunk = names[0]
	}

	search := func(from, to time.Time, ns string, limit int, key string) error {
		_, _, err := clt.SearchUnstructuredEvents(ctx, from, to, ns, nil, limit, apitypes.EventOrderAscending, key)
		return err
	}
	export := func(date *timestamppb.Timestamp, chunk, cursor string) error {
		stream := clt.ExportUnstructuredEvents(ctx, &auditlogpb.ExportUnstructuredEventsRequest{Date: date, Chunk: chunk, Cursor: cursor})
		for stream.Next() {
		}
		return stream.Done()
	}
	session := func(sid string, start int64) error {
		_, err := streamSession(clt, sid, start, 0)
		return err
	}
	rawOrder := func(order auditlogpb.Order) error {
		_, err := auditlogpb.NewAuditLogServiceClient(clt.GetConnection()).GetUnstructuredEvents(ctx, &auditlogpb.GetUnstructuredEventsRequest{
			StartDate: timestamppb.New(simFrom), EndDate: timestamppb.New(simTo), Order: order,
		})
		return err
	}
	tests := []struct {
		name string
		call func() error
		want func(error) bool
	}{
		{"search: start key of another query", func() error { return search(simFrom, simTo, "default", 10, "garbage") }, trace.IsBadParameter},
		{"search: from after to", func() error { return search(simTo, simFrom, "default", 10, "") }, trace.IsBadParameter},
		{"search: limit over the cap", func() error { return search(simFrom, simTo, "default", MaxSearchLimit+1, "") }, trace.IsBadParameter},
		{"search: unknown namespace", func() error { return search(simFrom, simTo, "other", 10, "") }, trace.IsBadParameter},
		{"search: unknown order", func() error { return rawOrder(7) }, trace.IsBadParameter},
		{"export: chunk not listed", func() error { return export(timestamppb.New(day), "no-such-chunk", "") }, trace.IsNotFound},
		{"export: bad cursor", func() error { return export(timestamppb.New(day), chunk, "garbage") }, trace.IsBadParameter},
		{"export: missing date", func() error { return export(nil, chunk, "") }, trace.IsBadParameter},
		{"chunks: missing date", func() error {
			chunks := clt.GetEventExportChunks(ctx, &auditlogpb.GetEventExportChunksRequest{})
			for chunks.Next() {
			}
			return chunks.Done()
		}, trace.IsBadParameter},
		{"session: unknown", func() error { return session("no-such-session", 0) }, trace.IsNotFound},
		{"session: missing id", func() error { return session("", 0) }, trace.IsBadParameter},
		{"session: negative index", func() error { return session(uploadedSessions(log)[0], -1) }, trace.IsBadParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !tt.want(err) {
				t.Fatalf("got %v (%T)", err, err)
			}
		})
	}

	t.Run("recording not uploaded yet, then available", func(t *testing.T) {
		sid := uploadedSessions(log)[1]
		if err := session(sid, 0); !trace.IsNotFound(err) {
			t.Fatalf("first request = %v, want NotFound", err)
		}
		time.Sleep(400 * time.Millisecond)
		evs, err := streamSession(clt, sid, 0, 0)
		if err != nil || len(evs) == 0 {
			t.Fatalf("after the delay: %d events, %v", len(evs), err)
		}
	})
}

func isNil(err error) bool { return err == nil }

// TestSearchOrderOnTheWire pins the wire values: 0 (ORDER_DESCENDING_UNSPECIFIED) is ascending
// and 1 (ORDER_ASCENDING) descending, since the client casts types.EventOrder straight through.
func TestSearchOrderOnTheWire(t *testing.T) {
	s := startSim(t, ServerConfig{Log: simLog(t, 100, Options{})})
	clt := dialSim(t, s.Addr(), identityCreds(s))
	raw := auditlogpb.NewAuditLogServiceClient(clt.GetConnection())
	first := func(order auditlogpb.Order) time.Time {
		resp, err := raw.GetUnstructuredEvents(context.Background(), &auditlogpb.GetUnstructuredEventsRequest{
			StartDate: timestamppb.New(simFrom), EndDate: timestamppb.New(simTo), Limit: 2, Order: order,
		})
		if err != nil || len(resp.GetItems()) != 2 {
			t.Fatalf("order %v: %v", order, err)
		}
		return resp.GetItems()[0].GetTime().AsTime()
	}
	asc, desc := first(auditlogpb.Order_ORDER_DESCENDING_UNSPECIFIED), first(auditlogpb.Order_ORDER_ASCENDING)
	if !asc.Before(desc) {
		t.Fatalf("wire 0 starts at %v, wire 1 at %v: want ascending then descending", asc, desc)
	}
}

func exportChunkNames(t testing.TB, clt *client.Client, day time.Time) []string {
	t.Helper()
	chunks := clt.GetEventExportChunks(context.Background(), &auditlogpb.GetEventExportChunksRequest{Date: timestamppb.New(day)})
	var names []string
	for chunks.Next() {
		names = append(names, chunks.Item().GetChunk())
	}
	if err := chunks.Done(); err != nil {
		t.Fatalf("GetEventExportChunks: %v", err)
	}
	return names
}

// TestExportNotImplementedSwitch shows the switch that makes the export API answer as the
// DynamoDB and file backends do, while search keeps working, and that it switches back.
func TestExportNotImplementedSwitch(t *testing.T) {
	s := startSim(t, ServerConfig{Log: simLog(t, 200, Options{}), Faults: Faults{ExportNotImplemented: true}})
	clt := dialSim(t, s.Addr(), keyPairCreds(s))
	ctx := context.Background()
	date := timestamppb.New(simFrom)

	chunks := clt.GetEventExportChunks(ctx, &auditlogpb.GetEventExportChunksRequest{Date: date})
	if chunks.Next() {
		t.Fatal("GetEventExportChunks yielded a chunk")
	}
	if err := chunks.Done(); !trace.IsNotImplemented(err) {
		t.Fatalf("GetEventExportChunks = %v, want NotImplemented", err)
	}
	events := clt.ExportUnstructuredEvents(ctx, &auditlogpb.ExportUnstructuredEventsRequest{Date: date, Chunk: "any"})
	if events.Next() {
		t.Fatal("ExportUnstructuredEvents yielded an event")
	}
	if err := events.Done(); !trace.IsNotImplemented(err) {
		t.Fatalf("ExportUnstructuredEvents = %v, want NotImplemented", err)
	}
	if _, _, err := clt.SearchUnstructuredEvents(ctx, simFrom, simTo, "default", nil, 10, apitypes.EventOrderAscending, ""); err != nil {
		t.Fatalf("search with export off: %v", err)
	}

	if err := s.SetFaults(Faults{}); err != nil {
		t.Fatal(err)
	}
	if names := exportChunkNames(t, clt, simFrom); len(names) == 0 {
		t.Fatal("no chunks once export is back")
	}
}

// TestToUnstructuredMatchesTeleport checks the envelope rules on events with and without uid.
func TestToUnstructuredMatchesTeleport(t *testing.T) {
	ts := time.Date(2025, 1, 27, 10, 0, 0, 123000000, time.UTC)
	withUID := Event{Type: "user.login", UID: "u-1", Time: ts, JSON: []byte(`{"event":"user.login","n":1.5,"time":"2025-01-27T10:00:00.123Z","uid":"u-1"}`)}
	noUID := Event{Type: "print", Time: ts, Index: 12, SessionID: "s", Kind: KindSession,
		JSON: []byte(`{"ei":12,"event":"print","sid":"s","time":"2025-01-27T10:00:00.123Z"}`)}
	notJSON := Event{Type: "x", JSON: []byte(`[1]`)}

	got, err := toUnstructured(withUID)
	if err != nil || got.GetId() != "u-1" || got.GetType() != "user.login" || !got.GetTime().AsTime().Equal(ts) ||
		got.GetUnstructured().GetFields()["n"].GetNumberValue() != 1.5 {
		t.Fatalf("with uid: %v, %v", got, err)
	}
	sum := sha256.Sum256(noUID.JSON)
	got, err = toUnstructured(noUID)
	if err != nil || got.GetId() != hex.EncodeToString(sum[:]) || got.GetIndex() != 12 {
		t.Fatalf("without uid: %v, %v", got, err)
	}
	if _, err := toUnstructured(notJSON); err == nil {
		t.Fatal("a JSON array became an event")
	}
}

func TestGRPCError(t *testing.T) {
	tests := []struct {
		name  string
		given error
		want  func(error) bool
	}{
		{"not found", fmt.Errorf("%w: x", ErrNotFound), trace.IsNotFound},
		{"bad cursor", fmt.Errorf("%w: x", ErrBadCursor), trace.IsBadParameter},
		{"bad request", fmt.Errorf("%w: x", ErrBadRequest), trace.IsBadParameter},
		{"other", errors.New("boom"), func(err error) bool { return err != nil && !trace.IsBadParameter(err) && !trace.IsNotFound(err) }},
		{"nil", nil, isNil},
		{"EOF is not wrapped", io.EOF, func(err error) bool { return err != nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// trail.FromGRPC is what Teleport's client interceptors apply.
			if got := grpcError(tt.given); !tt.want(trail.FromGRPC(got)) {
				t.Fatalf("grpcError(%v) = %v", tt.given, got)
			}
		})
	}
}
