package event

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// Header names carried by every message on the stream. They are a contract with shippers and
// with anyone who reads the stream directly.
const (
	HeaderUID       = "Teleport-Event-Uid"
	HeaderType      = "Teleport-Event-Type"
	HeaderTime      = "Teleport-Event-Time" // RFC 3339 with nanoseconds, UTC; absent when unknown
	HeaderKind      = "Teleport-Event-Kind" // "audit" or "session"
	HeaderSessionID = "Teleport-Session-Id"
	HeaderIndex     = "Teleport-Event-Index" // the session event index (ei), session events only
	HeaderCluster   = "Teleport-Cluster"
	HeaderReplayID  = "Auditpipe-Replay-Id" // set on messages of an admin replay
	// HeaderReplaySinks names the sinks a replay is for, comma-separated ("datadog" or
	// "fluentd,datadog"). It is set only on messages of a replay restricted to some sinks;
	// without it a message is for every sink. A shipper acknowledges a message that is not for
	// its sink without delivering it (see ForSink).
	HeaderReplaySinks = "Auditpipe-Replay-Sinks"
)

// Replay tags the messages of an admin replay: its id goes into every message id (MsgID) and
// the HeaderReplayID header, and its sinks, when set, into HeaderReplaySinks. The zero Replay
// is the ordinary export: no tag, every sink.
type Replay struct {
	ID string
	// Sinks restricts the replay to the sinks of these names; nil or empty means every sink.
	// Sinks apply only with an ID: a message id without the replay tag is the one the
	// ordinary export uses, and a restricted copy stored under it would keep the event from
	// the other sinks. Names must not contain commas.
	Sinks []string
}

// Header returns the message headers for the event, including Nats-Msg-Id, for the replay r
// (the zero Replay for the ordinary export).
func (e Event) Header(r Replay) nats.Header {
	h := nats.Header{}
	h.Set(nats.MsgIdHdr, e.MsgID(r.ID))
	h.Set(HeaderKind, string(e.Kind))
	h.Set(HeaderType, e.Type)
	setIf(h, HeaderUID, e.UID)
	if !e.Time.IsZero() {
		h.Set(HeaderTime, e.Time.UTC().Format(time.RFC3339Nano))
	}
	setIf(h, HeaderCluster, e.Cluster)
	if e.Kind == Session {
		setIf(h, HeaderSessionID, e.SessionID)
		h.Set(HeaderIndex, strconv.FormatInt(e.Index, 10))
	}
	if r.ID != "" {
		h.Set(HeaderReplayID, r.ID)
		if sinks := joinSinks(r.Sinks); sinks != "" {
			h.Set(HeaderReplaySinks, sinks)
		}
	}
	return h
}

// joinSinks is the HeaderReplaySinks value of sinks: the non-empty names, comma-separated.
func joinSinks(sinks []string) string {
	var names []string
	for _, s := range sinks {
		if s = strings.TrimSpace(s); s != "" {
			names = append(names, s)
		}
	}
	return strings.Join(names, ",")
}

// ReplaySinks returns the sinks that HeaderReplaySinks in h names; nil when it names none,
// which means every sink.
func ReplaySinks(h nats.Header) []string {
	var names []string
	for s := range strings.SplitSeq(h.Get(HeaderReplaySinks), ",") {
		if s = strings.TrimSpace(s); s != "" {
			names = append(names, s)
		}
	}
	return names
}

// ForSink reports whether a message with headers h is for the sink named sink: true unless h
// carries HeaderReplaySinks and sink is not among the names.
func ForSink(h nats.Header, sink string) bool {
	names := ReplaySinks(h)
	if len(names) == 0 {
		return true
	}
	for _, n := range names {
		if n == sink {
			return true
		}
	}
	return false
}

func setIf(h nats.Header, key, value string) {
	if value != "" {
		h.Set(key, value)
	}
}

// FromHeader rebuilds an event's envelope from message headers and its body, without parsing
// the body: what a shipper needs to route and tag it.
func FromHeader(h nats.Header, body []byte) (Event, error) {
	kind, err := ParseKind(h.Get(HeaderKind))
	if err != nil {
		return Event{}, err
	}
	ev := Event{
		Kind:      kind,
		Type:      h.Get(HeaderType),
		UID:       h.Get(HeaderUID),
		SessionID: h.Get(HeaderSessionID),
		Cluster:   h.Get(HeaderCluster),
		Body:      body,
	}
	if ev.Type == "" {
		return Event{}, fmt.Errorf("%w: no %s header", ErrInvalid, HeaderType)
	}
	if s := h.Get(HeaderTime); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return Event{}, fmt.Errorf("%w: %s: %v", ErrInvalid, HeaderTime, err)
		}
		ev.Time = t
	}
	if s := h.Get(HeaderIndex); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return Event{}, fmt.Errorf("%w: %s: %v", ErrInvalid, HeaderIndex, err)
		}
		ev.Index = n
	}
	return ev, nil
}
