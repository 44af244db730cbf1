// Package adminapi is the admin REST API's wire format: the request and response bodies of
// every /v1 route, the error body, the token scopes, and a Client for them (used by
// auditpipectl and the tests). The server is package admin. JSON field names are snake_case
// and are a contract with users' scripts: add fields freely, rename none.
//
// Routes (all JSON; times are RFC 3339):
//
//	GET    /healthz, /readyz, /metrics         (no auth)
//	GET    /v1/status                          read   → Status
//	POST   /v1/replays        ReplayRequest    admin  → 202 Replay
//	GET    /v1/replays                         read   → ReplayList
//	GET    /v1/replays/{id}                    read   → Replay
//	DELETE /v1/replays/{id}                    admin  → Replay (cancelled)
//	PUT    /v1/start-time     StartTimeRequest admin  → StartTimeResult
//	POST   /v1/ingest/pause                    admin  → PauseState
//	POST   /v1/ingest/resume                   admin  → PauseState
//	GET    /v1/dlq?sink=&reason=&after=&limit= read   → DLQPage
//	POST   /v1/dlq/redrive    RedriveRequest   admin  → RedriveResult
//	DELETE /v1/dlq/{id}                        admin  → 204
//	GET    /v1/openapi.json                    (no auth) the OpenAPI 3 document
package adminapi

import (
	"encoding/json"
	"fmt"
	"time"
)

// Scope is what a bearer token may do: read may call GET routes, admin every route.
type Scope string

const (
	ScopeRead  Scope = "read"
	ScopeAdmin Scope = "admin"
)

// MaxBodyBytes bounds a request body; a larger one gets 413.
const MaxBodyBytes = 64 << 10

// Error codes of ErrorBody; the HTTP status goes with each.
const (
	CodeBadRequest   = "bad_request"       // 400: malformed JSON, unknown fields, bad values
	CodeUnauthorized = "unauthorized"      // 401: no or unknown credentials
	CodeForbidden    = "forbidden"         // 403: a read token on a write route
	CodeNotFound     = "not_found"         // 404
	CodeConflict     = "conflict"          // 409: e.g. cancelling a finished replay
	CodeTooLarge     = "payload_too_large" // 413
	CodeRateLimited  = "rate_limited"      // 429
	CodeUnavailable  = "unavailable"       // 503: Redis or NATS do not answer
	CodeInternal     = "internal"          // 500
)

// More error codes of ErrorBody.
const (
	CodeMethodNotAllowed     = "method_not_allowed"     // 405: the path exists, the method does not
	CodeUnsupportedMediaType = "unsupported_media_type" // 415: a body that is not application/json
)

// ErrorBody is every error response: {"error": {"code": …, "message": …}}.
type ErrorBody struct {
	Error Error `json:"error"`
}

// Error is an API error. As a Go error (from Client) it also carries the HTTP status.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Status is the HTTP status of the response; not in the JSON.
	Status int `json:"-"`
}

func (e *Error) Error() string { return fmt.Sprintf("%s (%d %s)", e.Message, e.Status, e.Code) }

// Counts are work units (windows or session jobs) by state.
type Counts struct {
	Pending   int64 `json:"pending"`
	Leased    int64 `json:"leased"`
	Done      int64 `json:"done"`
	Cancelled int64 `json:"cancelled"`
	Failed    int64 `json:"failed"`
	Total     int64 `json:"total"`
}

// Status is GET /v1/status: the whole pipeline at a glance.
type Status struct {
	// Time is when the status was read.
	Time      time.Time           `json:"time"`
	Ingest    IngestStatus        `json:"ingest"`
	Stream    StreamStatus        `json:"stream"`
	Consumers []ConsumerStatus    `json:"consumers"`
	DLQ       DLQStatus           `json:"dlq"`
	Replays   ReplaySummary       `json:"replays"`
	Replicas  map[string][]Member `json:"replicas"` // by service: ingest, shipper, admin
}

// IngestStatus is where ingest stands.
type IngestStatus struct {
	// Mode is "search" or "export" ("" before the first replica decided).
	Mode string `json:"mode"`
	// Epoch is the current epoch (0 before ingest first started), StartTime its start.
	Epoch     int64     `json:"epoch"`
	StartTime time.Time `json:"start_time,omitzero"`
	Paused    bool      `json:"paused"`
	PausedAt  time.Time `json:"paused_at,omitzero"`
	// Windows counts the current epoch's windows by state.
	Windows Counts `json:"windows"`
	// Sessions counts session jobs; SessionsInProgress are leased now, SessionsMissing wait
	// for a recording that was not found yet.
	Sessions           Counts `json:"sessions"`
	SessionsInProgress int64  `json:"sessions_in_progress"`
	SessionsMissing    int64  `json:"sessions_missing"`
	// Tail is the tail's position: search windows are planned up to PlannedUntil; Newest is
	// the newest event time any live ingest replica delivered to the stream, LagSeconds now
	// minus Newest (0 when unknown).
	PlannedUntil time.Time `json:"planned_until,omitzero"`
	Newest       time.Time `json:"newest_event,omitzero"`
	LagSeconds   float64   `json:"lag_seconds"`
}

// StreamStatus is the events stream's state.
type StreamStatus struct {
	Name      string    `json:"name"`
	Messages  uint64    `json:"messages"`
	Bytes     uint64    `json:"bytes"`
	FirstSeq  uint64    `json:"first_seq"`
	LastSeq   uint64    `json:"last_seq"`
	FirstTime time.Time `json:"first_time,omitzero"`
	LastTime  time.Time `json:"last_time,omitzero"`
	// Error is set when the stream could not be read (e.g. not created yet).
	Error string `json:"error,omitempty"`
}

// ConsumerStatus is one sink's durable consumer.
type ConsumerStatus struct {
	Sink        string `json:"sink"`
	Name        string `json:"name"` // sink-<sink>
	Pending     uint64 `json:"pending"`
	AckPending  int    `json:"ack_pending"`
	Redelivered int    `json:"redelivered"`
	Waiting     int    `json:"waiting"`
	// Delivered is the last stream sequence delivered, AckFloor the one below which all are acked.
	Delivered uint64 `json:"delivered_seq"`
	AckFloor  uint64 `json:"ack_floor_seq"`
}

// DLQStatus is the dead-letter stream's size.
type DLQStatus struct {
	Total  uint64            `json:"total"`
	BySink map[string]uint64 `json:"by_sink"`
	// Error is set when the DLQ could not be read (e.g. not created yet).
	Error string `json:"error,omitempty"`
}

// ReplaySummary counts replays by state.
type ReplaySummary struct {
	Active    int `json:"active"`
	Done      int `json:"done"`
	Cancelled int `json:"cancelled"`
}

// Member is one live replica of a service.
type Member struct {
	ID      string          `json:"id"`
	Version string          `json:"version,omitempty"`
	Started time.Time       `json:"started"`
	Seen    time.Time       `json:"seen"`
	Status  json.RawMessage `json:"status,omitempty"`
}

// ReplayRequest is POST /v1/replays: export [From, To) again to Sinks (default: every sink),
// only Types when set. From must be before To, and To not in the future.
type ReplayRequest struct {
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	Types []string  `json:"types,omitempty"`
	Sinks []string  `json:"sinks,omitempty"`
}

// Replay is a replay and its progress.
type Replay struct {
	ID         string    `json:"id"`
	State      string    `json:"state"` // active, done or cancelled
	From       time.Time `json:"from"`
	To         time.Time `json:"to"`
	Types      []string  `json:"types,omitempty"`
	Sinks      []string  `json:"sinks,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	Windows    Counts    `json:"windows"`
	// WindowsDone of WindowsTotal is its progress.
	WindowsDone  int64 `json:"windows_done"`
	WindowsTotal int64 `json:"windows_total"`
	// Events counts the events its windows published so far.
	Events int64 `json:"events"`
	// ETA is the estimated time it will be done (active replays with progress only): the
	// first passes left at the pace so far, and no sooner than SettlesAt. When only settle
	// passes are left it is SettlesAt (now, once that is past).
	ETA time.Time `json:"eta,omitzero"`
	// WindowsSettling counts the windows read once that wait for, or are in, their settle pass
	// (counted in Windows as pending or leased): a window first read less than ingest.settle-grace
	// after its end is read once more that long after its end, for events Teleport surfaces
	// late. When WindowsDone + WindowsSettling = WindowsTotal, every window was read and the
	// replay waits only for those passes. 0 unless active.
	WindowsSettling int64 `json:"windows_settling"`
	// SettlesAt is when the last of those settle passes becomes due (in the past while passes
	// are due or under way); absent when no window of an active replay waits for one.
	SettlesAt time.Time `json:"settles_at,omitzero"`
}

// ReplayList is GET /v1/replays, newest first.
type ReplayList struct {
	Replays []Replay `json:"replays"`
}

// StartTimeRequest is PUT /v1/start-time. Confirm must be true: the reset withdraws the
// current epoch's unfinished windows and exports again from StartTime.
type StartTimeRequest struct {
	StartTime time.Time `json:"start_time"`
	Confirm   bool      `json:"confirm"`
}

// StartTimeResult is the new epoch.
type StartTimeResult struct {
	Epoch     int64     `json:"epoch"`
	StartTime time.Time `json:"start_time"`
}

// PauseState is the answer to pause and resume.
type PauseState struct {
	Paused   bool      `json:"paused"`
	PausedAt time.Time `json:"paused_at,omitzero"`
}

// DeadLetter is one DLQ entry. Body is the event JSON when it is JSON, else absent with
// BodyBase64 set.
type DeadLetter struct {
	ID              uint64            `json:"id"` // its sequence in TELEPORT_DLQ
	Time            time.Time         `json:"time"`
	Sink            string            `json:"sink"`
	Reason          string            `json:"reason"`
	Attempts        int               `json:"attempts"`
	OriginalSubject string            `json:"original_subject"`
	OriginalSeq     uint64            `json:"original_seq,omitempty"`
	EventType       string            `json:"event_type,omitempty"`
	EventID         string            `json:"event_id,omitempty"`
	Headers         map[string]string `json:"headers,omitempty"`
	Object          string            `json:"object,omitempty"` // body kept in the object store
	Body            json.RawMessage   `json:"body,omitempty"`
	BodyBase64      string            `json:"body_base64,omitempty"`
}

// DLQPage is GET /v1/dlq. Next is the `after` of the next page; 0 when there is none.
type DLQPage struct {
	Entries []DeadLetter `json:"entries"`
	Next    uint64       `json:"next,omitempty"`
}

// RedriveRequest is POST /v1/dlq/redrive: the entries IDs (or every entry matching Sink and
// Reason filters when All is true) are published again, to ToSink when set (else to the sink
// that gave up on each). Exactly one of IDs and All must be given. Delete removes each entry
// once redriven (default true).
type RedriveRequest struct {
	IDs    []uint64 `json:"ids,omitempty"`
	All    bool     `json:"all,omitempty"`
	Sink   string   `json:"sink,omitempty"`   // with All: only entries of this sink
	Reason string   `json:"reason,omitempty"` // with All: only entries whose reason contains this
	ToSink string   `json:"to_sink,omitempty"`
	Delete *bool    `json:"delete,omitempty"`
}

// RedriveResult reports a redrive: what was published again, and what failed.
type RedriveResult struct {
	Redriven []RedrivenEntry `json:"redriven"`
	Failed   []FailedEntry   `json:"failed,omitempty"`
	// More is set when All matched more entries than one request redrives (MaxRedrive): send
	// the request again for the rest. (With Delete false the same entries would match again:
	// page through GET /v1/dlq and redrive by IDs instead.)
	More bool `json:"more,omitempty"`
}

// MaxRedrive is the most entries one POST /v1/dlq/redrive redrives: the length limit of IDs,
// and where All stops (setting RedriveResult.More).
const MaxRedrive = 1000

// RedrivenEntry is one entry published again.
type RedrivenEntry struct {
	ID      uint64 `json:"id"`
	Subject string `json:"subject"`
	Seq     uint64 `json:"seq"` // in the events stream
}

// FailedEntry is one entry that could not be redriven.
type FailedEntry struct {
	ID    uint64 `json:"id"`
	Error string `json:"error"`
}

// IngestMember is the Status an ingest replica reports in its beats (Member.Status).
type IngestMember struct {
	Mode        string    `json:"mode"`
	Running     bool      `json:"running"`
	DryRun      bool      `json:"dry_run,omitempty"`
	NewestEvent time.Time `json:"newest_event,omitzero"`
	LagSeconds  float64   `json:"lag_seconds"`
	Read        int64     `json:"events_read"`
	Published   int64     `json:"events_published"`
	Duplicates  int64     `json:"events_duplicate"`
	// Held is how many windows and session jobs its workers hold now.
	Held int `json:"held"`
}

// ShipperMember is the Status a shipper replica reports in its beats (Member.Status).
type ShipperMember struct {
	Sinks []string `json:"sinks"`
	// Blocked lists the sinks that refuse every event now (e.g. Datadog answering 401).
	Blocked []string `json:"blocked,omitempty"`
	// Delivered counts the events each sink accepted from this replica since it started.
	Delivered map[string]int64 `json:"delivered,omitempty"`
}
