package event

import (
	"fmt"
	"strconv"
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
)

// Header returns the message headers for the event, including Nats-Msg-Id.
func (e Event) Header(replayID string) nats.Header {
	h := nats.Header{}
	h.Set(nats.MsgIdHdr, e.MsgID(replayID))
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
	setIf(h, HeaderReplayID, replayID)
	return h
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
