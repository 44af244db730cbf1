// Package event defines the envelope auditpipe moves: one Teleport event, its identity, and how
// it is named on the JetStream stream (subject, message id, headers).
//
// The body is the event JSON as Teleport sent it; auditpipe never rewrites it. The envelope's
// fields are read from the body once, at ingest, and travel beside it as message headers.
package event

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kind says which Teleport path an event came by.
type Kind string

const (
	// Audit is an event of the audit log (search or bulk export).
	Audit Kind = "audit"
	// Session is an event of a session recording.
	Session Kind = "session"
)

// ParseKind returns the Kind named s.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(s); k {
	case Audit, Session:
		return k, nil
	}
	return "", fmt.Errorf("%w: unknown kind %q", ErrInvalid, s)
}

// ErrInvalid marks a body that is not a Teleport event.
var ErrInvalid = errors.New("invalid event")

// Event is one Teleport event with the fields auditpipe routes and deduplicates by.
type Event struct {
	Kind      Kind
	Type      string    // the "event" field
	UID       string    // the "uid" field; empty on recording-only events such as "print"
	Time      time.Time // the "time" field; zero when absent or unparsable
	SessionID string    // the "sid" field
	Index     int64     // the "ei" field
	Cluster   string    // the "cluster_name" field
	Body      []byte    // the event JSON exactly as received
}

// fields are the parts of a Teleport event JSON that the envelope reads.
type fields struct {
	Type      string          `json:"event"`
	UID       string          `json:"uid"`
	Time      string          `json:"time"`
	SessionID string          `json:"sid"`
	Index     json.RawMessage `json:"ei"`
	Cluster   string          `json:"cluster_name"`
}

// Parse reads the envelope of a Teleport event body. body must be a JSON object with an
// "event" field; every other field is optional. The body is kept, not copied.
func Parse(kind Kind, body []byte) (Event, error) {
	if _, err := ParseKind(string(kind)); err != nil {
		return Event{}, err
	}
	var f fields
	if err := json.Unmarshal(body, &f); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if f.Type == "" {
		return Event{}, fmt.Errorf("%w: no \"event\" field", ErrInvalid)
	}
	ev := Event{Kind: kind, Type: f.Type, UID: f.UID, SessionID: f.SessionID, Cluster: f.Cluster, Body: body}
	if f.Time != "" {
		if t, err := time.Parse(time.RFC3339Nano, f.Time); err == nil {
			ev.Time = t.UTC()
		}
	}
	if len(f.Index) > 0 {
		// Teleport writes ei as a number; a recording re-encoded through protobuf's Struct may
		// carry it as a float ("12.0" is never seen, 1.2e1 may be) or, rarely, as a string.
		idx, err := parseIndex(f.Index)
		if err != nil {
			return Event{}, fmt.Errorf("%w: ei: %v", ErrInvalid, err)
		}
		ev.Index = idx
	}
	return ev, nil
}

func parseIndex(raw json.RawMessage) (int64, error) {
	s := strings.Trim(string(raw), `"`)
	if s == "null" || s == "" {
		return 0, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != float64(int64(f)) {
		return 0, fmt.Errorf("not an integer: %s", raw)
	}
	return int64(f), nil
}

// ID is the event's identity for deduplication, without any replay tag:
//   - session events: "<sid>:<ei>" — a recording repeats audit events with the same uid, so a
//     uid key would drop one of the two copies;
//   - audit events with a uid: the uid;
//   - otherwise: "sha256:<hex>" of the body's canonical JSON (object keys sorted, no spaces),
//     so the same event read twice, however it was re-encoded, gets the same id.
func (e Event) ID() string {
	switch {
	case e.Kind == Session && e.SessionID != "":
		return e.SessionID + ":" + strconv.FormatInt(e.Index, 10)
	case e.UID != "":
		return e.UID
	default:
		return "sha256:" + ContentHash(e.Body)
	}
}

// MsgID is the JetStream Nats-Msg-Id for the event. A replay id, when set, prefixes the id so a
// deliberate re-export is not dropped as a duplicate of the first delivery.
func (e Event) MsgID(replayID string) string {
	if replayID == "" {
		return e.ID()
	}
	return "replay:" + replayID + ":" + e.ID()
}

// ContentHash is the hex SHA-256 of body's canonical JSON (keys sorted, insignificant space
// removed); a body that is not JSON is hashed as it is.
func ContentHash(body []byte) string {
	sum := sha256.Sum256(canonical(body))
	return hex.EncodeToString(sum[:])
}

func canonical(body []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return body
	}
	out, err := json.Marshal(v) // encoding/json sorts map keys
	if err != nil {
		return body
	}
	return out
}
