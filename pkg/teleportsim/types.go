package teleportsim

import (
	"errors"
	"time"
)

// Kind says which path an event reaches an exporter by.
type Kind string

const (
	// KindAudit is an event of the audit log (search and export APIs).
	KindAudit Kind = "audit"
	// KindSession is an event of a session recording (StreamUnstructuredSessionEvents).
	KindSession Kind = "session"
)

// Event is one event as the simulator serves it.
type Event struct {
	Type      string    // the "event" field, e.g. "session.start"
	UID       string    // the "uid" field; empty for recording-only events such as "print"
	Time      time.Time // the "time" field, UTC
	Index     int64     // the "ei" field (the event index within a session; 0 for most audit events)
	SessionID string    // the "sid" field; empty for events outside a session (set for every event of a recording, although a "print" event's JSON has no sid)
	Kind      Kind
	JSON      []byte // the whole event as Teleport would send it; the other fields are parsed from it
}

// Order is the order of a search, with Teleport's wire values.
type Order int

const (
	// Ascending is 0 on the wire, although the proto enum names 0 ORDER_DESCENDING_UNSPECIFIED:
	// the client casts types.EventOrder (Ascending = 0) straight to the enum.
	Ascending Order = 0
	// Descending is 1 on the wire.
	Descending Order = 1
)

// SearchQuery is one page request of GetUnstructuredEvents.
type SearchQuery struct {
	From, To time.Time // inclusive range
	Types    []string  // allow-list; empty means every type
	Limit    int       // page size; <= 0 means DefaultSearchLimit, above MaxSearchLimit is ErrBadRequest (as Teleport's backends)
	Order    Order
	StartKey string // opaque cursor from the previous page's last key; valid only for the same query
}

// ManifestEntry records one event the Log holds, so a test can prove each arrived intact.
type ManifestEntry struct {
	UID       string    `json:"uid,omitempty"`
	Type      string    `json:"type"`
	Time      time.Time `json:"time"`
	Kind      Kind      `json:"kind"`
	SessionID string    `json:"sid,omitempty"`
	Index     int64     `json:"ei,omitempty"`
	SHA256    string    `json:"sha256"` // hex SHA-256 of Event.JSON
}

var (
	// ErrNotFound: the session recording does not exist, or is not uploaded yet.
	ErrNotFound = errors.New("teleportsim: not found")
	// ErrBadCursor: a start key or export cursor that this Log did not issue for this query.
	ErrBadCursor = errors.New("teleportsim: bad cursor")
	// ErrBadRequest: an invalid query (e.g. From after To, a date that is not a UTC midnight).
	ErrBadRequest = errors.New("teleportsim: bad request")
)
