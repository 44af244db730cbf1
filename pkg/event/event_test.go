package event_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/auditpipe/auditpipe/pkg/event"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		kind    event.Kind
		given   string
		want    event.Event
		wantErr bool
	}{
		{
			name:  "audit login",
			kind:  event.Audit,
			given: `{"event":"user.login","uid":"u-1","time":"2025-01-02T03:04:05.123456789Z","cluster_name":"c","success":true}`,
			want:  event.Event{Kind: event.Audit, Type: "user.login", UID: "u-1", Cluster: "c", Time: time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.UTC)},
		},
		{
			name:  "session print without uid",
			kind:  event.Session,
			given: `{"event":"print","sid":"s-1","ei":12,"time":"2025-01-02T03:04:05Z"}`,
			want:  event.Event{Kind: event.Session, Type: "print", SessionID: "s-1", Index: 12, Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)},
		},
		{
			name:  "ei as float from a protobuf Struct",
			kind:  event.Session,
			given: `{"event":"resize","sid":"s","ei":1.2e1}`,
			want:  event.Event{Kind: event.Session, Type: "resize", SessionID: "s", Index: 12},
		},
		{
			name:  "time with offset is normalised to UTC",
			kind:  event.Audit,
			given: `{"event":"exec","time":"2025-01-02T05:04:05+02:00"}`,
			want:  event.Event{Kind: event.Audit, Type: "exec", Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)},
		},
		{name: "unparsable time is left zero", kind: event.Audit, given: `{"event":"exec","time":"yesterday"}`, want: event.Event{Kind: event.Audit, Type: "exec"}},
		{name: "no event field", kind: event.Audit, given: `{"uid":"x"}`, wantErr: true},
		{name: "not json", kind: event.Audit, given: `{"event":`, wantErr: true},
		{name: "array", kind: event.Audit, given: `[1]`, wantErr: true},
		{name: "fractional ei", kind: event.Session, given: `{"event":"print","ei":1.5}`, wantErr: true},
		{name: "unknown kind", kind: "other", given: `{"event":"print"}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := event.Parse(tt.kind, []byte(tt.given))
			if tt.wantErr {
				if !errors.Is(err, event.ErrInvalid) {
					t.Fatalf("Parse = %+v, %v; want ErrInvalid", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if string(got.Body) != tt.given {
				t.Errorf("Body = %s; want the input unchanged", got.Body)
			}
			if !got.Time.Equal(tt.want.Time) {
				t.Errorf("Time = %v; want %v", got.Time, tt.want.Time)
			}
			got.Body, got.Time, tt.want.Time = nil, time.Time{}, time.Time{}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse = %+v; want %+v", got, tt.want)
			}
		})
	}
}

func TestIDAndMsgID(t *testing.T) {
	t.Parallel()
	audit := event.Event{Kind: event.Audit, Type: "session.start", UID: "u-1", SessionID: "s-1"}
	recorded := event.Event{Kind: event.Session, Type: "session.start", UID: "u-1", SessionID: "s-1", Index: 0}
	print := event.Event{Kind: event.Session, Type: "print", SessionID: "s-1", Index: 7}
	noID := event.Event{Kind: event.Audit, Type: "x", Body: []byte(`{"b":1, "a":"x","event":"x"}`)}
	reencoded := event.Event{Kind: event.Audit, Type: "x", Body: []byte(`{"a":"x","event":"x","b":1}`)}
	tests := []struct {
		name  string
		given event.Event
		want  string
	}{
		{"audit by uid", audit, "u-1"},
		{"recording copy of an audit event by sid and ei", recorded, "s-1:0"},
		{"recording-only event", print, "s-1:7"},
		{"no uid: content hash", noID, "sha256:" + event.ContentHash(noID.Body)},
	}
	for _, tt := range tests {
		if got := tt.given.ID(); got != tt.want {
			t.Errorf("%s: ID = %q; want %q", tt.name, got, tt.want)
		}
	}
	if audit.ID() == recorded.ID() {
		t.Error("the audit and recording copies of one event share an id; dedup would drop one")
	}
	if noID.ID() != reencoded.ID() {
		t.Error("content hash depends on key order or spacing")
	}
	if got := audit.MsgID("r1"); got != "replay:r1:u-1" {
		t.Errorf("MsgID(replay) = %q", got)
	}
	if audit.MsgID("") != audit.ID() {
		t.Error("MsgID without replay differs from ID")
	}
}

func TestSubject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind event.Kind
		typ  string
		want string
	}{
		{event.Audit, "user.login", "teleport.audit.user.login"},
		{event.Session, "print", "teleport.session.print"},
		{event.Audit, "", "teleport.audit.unknown"},
		{event.Audit, "a b*c>d", "teleport.audit.a_b_c_d"},
		{event.Audit, "a..b.", "teleport.audit.a._.b._"},
		{event.Audit, "ünï", "teleport.audit._n_"},
	}
	for _, tt := range tests {
		if got := (event.Event{Kind: tt.kind, Type: tt.typ}).Subject(); got != tt.want {
			t.Errorf("Subject(%s, %q) = %q; want %q", tt.kind, tt.typ, got, tt.want)
		}
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	t.Parallel()
	for _, ev := range []event.Event{
		{Kind: event.Audit, Type: "user.login", UID: "u", Cluster: "c", Time: time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)},
		{Kind: event.Session, Type: "print", SessionID: "s", Index: 3},
	} {
		ev.Body = []byte(`{}`)
		h := ev.Header(event.Replay{ID: "rp"})
		if got := h.Get("Nats-Msg-Id"); got != ev.MsgID("rp") {
			t.Errorf("Nats-Msg-Id = %q; want %q", got, ev.MsgID("rp"))
		}
		if got := h.Get(event.HeaderReplayID); got != "rp" {
			t.Errorf("replay header = %q", got)
		}
		if got := h.Get(event.HeaderReplaySinks); got != "" {
			t.Errorf("replay sinks header = %q for a replay to every sink", got)
		}
		back, err := event.FromHeader(h, ev.Body)
		if err != nil {
			t.Fatalf("FromHeader: %v", err)
		}
		if back.Kind != ev.Kind || back.Type != ev.Type || back.UID != ev.UID || back.SessionID != ev.SessionID ||
			back.Index != ev.Index || back.Cluster != ev.Cluster || !back.Time.Equal(ev.Time) {
			t.Errorf("round trip = %+v; want %+v", back, ev)
		}
	}
	if _, err := event.FromHeader(nil, nil); !errors.Is(err, event.ErrInvalid) {
		t.Errorf("FromHeader(no headers) err = %v; want ErrInvalid", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(`{"event":"print","sid":"s","ei":1,"time":"2025-01-02T03:04:05Z"}`, true)
	f.Add(`{"event":"user.login","uid":"u"}`, false)
	f.Add(`{"event":"x","ei":"7"}`, true)
	f.Fuzz(func(t *testing.T, body string, session bool) {
		kind := event.Audit
		if session {
			kind = event.Session
		}
		ev, err := event.Parse(kind, []byte(body))
		if err != nil {
			return
		}
		back, err := event.FromHeader(ev.Header(event.Replay{}), ev.Body)
		if err != nil {
			t.Fatalf("FromHeader of a parsed event: %v", err)
		}
		if back.ID() != ev.ID() || back.Subject() != ev.Subject() {
			t.Fatalf("round trip changed identity: %q/%q vs %q/%q", back.ID(), back.Subject(), ev.ID(), ev.Subject())
		}
	})
}

// TestReplaySinks: a replay restricted to sinks names them in HeaderReplaySinks; ForSink lets
// through exactly those sinks, and every sink when the header is absent. Sinks without a
// replay id are ignored: that message id belongs to the ordinary export.
func TestReplaySinks(t *testing.T) {
	t.Parallel()
	ev := event.Event{Kind: event.Audit, Type: "user.login", UID: "u", Body: []byte(`{}`)}
	tests := []struct {
		name     string
		replay   event.Replay
		header   string
		yes, not []string
	}{
		{name: "ordinary export", replay: event.Replay{}, yes: []string{"fluentd", "datadog", "lock"}},
		{name: "replay to every sink", replay: event.Replay{ID: "r"}, yes: []string{"fluentd", "datadog", "lock"}},
		{name: "replay to datadog", replay: event.Replay{ID: "r", Sinks: []string{"datadog"}}, header: "datadog",
			yes: []string{"datadog"}, not: []string{"fluentd", "lock", "data", ""}},
		{name: "replay to two sinks", replay: event.Replay{ID: "r", Sinks: []string{"fluentd", " ", "lock"}}, header: "fluentd,lock",
			yes: []string{"fluentd", "lock"}, not: []string{"datadog"}},
		{name: "sinks without a replay id", replay: event.Replay{Sinks: []string{"datadog"}}, yes: []string{"fluentd", "datadog"}},
	}
	for _, tt := range tests {
		h := ev.Header(tt.replay)
		if got := h.Get(event.HeaderReplaySinks); got != tt.header {
			t.Errorf("%s: %s = %q; want %q", tt.name, event.HeaderReplaySinks, got, tt.header)
		}
		for _, s := range tt.yes {
			if !event.ForSink(h, s) {
				t.Errorf("%s: ForSink(%q) = false; want true", tt.name, s)
			}
		}
		for _, s := range tt.not {
			if event.ForSink(h, s) {
				t.Errorf("%s: ForSink(%q) = true; want false", tt.name, s)
			}
		}
	}
	// A header written by hand with spaces and empty items still names its sinks.
	h := nats.Header{}
	h.Set(event.HeaderReplaySinks, " datadog , ,lock")
	if got := event.ReplaySinks(h); len(got) != 2 || got[0] != "datadog" || got[1] != "lock" {
		t.Errorf("ReplaySinks = %q", got)
	}
	h.Set(event.HeaderReplaySinks, " , ")
	if !event.ForSink(h, "fluentd") {
		t.Errorf("a header naming no sink keeps the message from fluentd")
	}
	if !event.ForSink(nil, "fluentd") {
		t.Errorf("ForSink(no headers) = false")
	}
}
