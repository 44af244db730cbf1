// Package stream owns auditpipe's JetStream state: the events stream TELEPORT_EVENTS that
// ingest publishes to, the object store bucket that holds event bodies too large for a message,
// the dead-letter stream TELEPORT_DLQ, and the durable consumers that shippers read with.
//
// Subjects of the events stream:
//
//	teleport.audit.<event type>               an audit-log event (event.Event.Subject)
//	teleport.session.<event type>             a session-recording event
//	teleport.redrive.<sink>.<kind>.<type>     a dead letter redriven to one sink only
//
// Every sink's consumer (sink-<sink>) filters the first two and its own redrive subject, so a
// redrive to one sink reaches that sink's consumer and no other (see DLQ.Redrive).
//
// Who uses what: every service calls Ensure at start; ingest publishes with a Publisher
// (PublishPage); a shipper reads its sink's consumer (EnsureConsumer), gets bodies with
// BodyReader.Resolve, and on a permanent failure writes DLQ.Put before it Terms the message;
// the admin API lists, gets, deletes and redrives dead letters through the DLQ.
//
// Nothing here logs or keeps goroutines between calls: functions return errors, and every type
// that talks to JetStream borrows a handle (a jetstream.JetStream or a part of it) that the
// caller owns and closes.
package stream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/auditpipe/auditpipe/pkg/config"
)

// Subjects of the events stream.
const (
	SubjectAudit   = "teleport.audit.>"
	SubjectSession = "teleport.session.>"
	// SubjectRedrive holds dead letters redriven to one sink: teleport.redrive.<sink>.<kind>.<type>.
	SubjectRedrive = "teleport.redrive.>"
	// SubjectDLQ is the DLQ stream's subject space: dlq.<sink>.
	SubjectDLQ = "dlq.>"
)

// Default names and limits.
const (
	DefaultName            = "TELEPORT_EVENTS"
	DefaultDLQName         = "TELEPORT_DLQ"
	DefaultBucket          = "TELEPORT_EVENTS_LARGE"
	DefaultDLQBucket       = "TELEPORT_DLQ_LARGE"
	DefaultMaxAge          = 7 * 24 * time.Hour
	DefaultDuplicateWindow = 30 * time.Minute
)

// EventSubjects returns the subjects an event consumer reads (audit and session events; not
// the redrive subjects).
func EventSubjects() []string { return []string{SubjectAudit, SubjectSession} }

// Options define the streams and buckets that Ensure creates. The zero value is usable: every
// field has a default. Services fill them from the [nats] configuration section.
type Options struct {
	// Name of the events stream; DefaultName when empty.
	Name string
	// Replicas of every stream and bucket (1–5; 0 means 1). More than 1 needs a NATS cluster.
	Replicas int
	// MaxAge is how long an event is kept, read or not: 0 means DefaultMaxAge, a negative value
	// means no limit. A sink that is down for longer than MaxAge loses the oldest events.
	MaxAge time.Duration
	// MaxBytes caps the events stream; 0 or negative means no limit. When the stream is full,
	// new publishes are refused (DiscardNew), never old events dropped: with limits retention
	// the oldest events may not have reached every sink yet, and discarding them would lose
	// them silently. Refused publishes make ingest back off and retry without committing its
	// cursor, which shows as a stall in its metrics instead of a gap in the sinks.
	MaxBytes int64
	// DuplicateWindow is how long JetStream remembers message ids to drop repeats; 0 means
	// DefaultDuplicateWindow. It must cover ingest's settle grace, so a settle pass that reads
	// an event again does not store it twice, and it may not exceed MaxAge. The server keeps
	// every id of the window in memory.
	DuplicateWindow time.Duration
	// Storage of every stream and bucket; the zero value is jetstream.FileStorage.
	Storage jetstream.StorageType

	// DLQ is the name of the dead-letter stream; DefaultDLQName when empty.
	DLQ string
	// DLQMaxAge and DLQMaxBytes limit the dead-letter stream; 0 or negative means no limit.
	// Dead letters are never discarded to make room: a full DLQ refuses new ones, and the
	// shipper leaves the original unacknowledged.
	DLQMaxAge   time.Duration
	DLQMaxBytes int64

	// Bucket is the object store of event bodies over the max payload; DefaultBucket when
	// empty. Its TTL is twice MaxAge (see Publisher): an object outlives every message that
	// refers to it, and expires with them without any cleanup job.
	Bucket string
	// DLQBucket holds dead-letter bodies over the max payload; DefaultDLQBucket when empty. Its
	// TTL is DLQMaxAge; DLQ.Delete removes an entry's object with the entry.
	DLQBucket string
}

// withDefaults returns o with every zero field set to its default.
func (o Options) withDefaults() Options {
	if o.Name == "" {
		o.Name = DefaultName
	}
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.MaxAge == 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.DuplicateWindow == 0 {
		o.DuplicateWindow = DefaultDuplicateWindow
	}
	if o.DLQ == "" {
		o.DLQ = DefaultDLQName
	}
	if o.Bucket == "" {
		o.Bucket = DefaultBucket
	}
	if o.DLQBucket == "" {
		o.DLQBucket = DefaultDLQBucket
	}
	return o
}

// Validate reports whether Ensure can use o (after defaults), wrapping ErrInvalidOptions.
func (o Options) Validate() error {
	o = o.withDefaults()
	names := map[string]string{"Name": o.Name, "DLQ": o.DLQ, "Bucket": o.Bucket, "DLQBucket": o.DLQBucket}
	seen := map[string]string{}
	for field, name := range names {
		if !config.IsStreamName(name) {
			return fmt.Errorf("%w: %s %q: only letters, digits, '_' and '-'", ErrInvalidOptions, field, name)
		}
		if other, ok := seen[name]; ok {
			return fmt.Errorf("%w: %s and %s are both %q", ErrInvalidOptions, field, other, name)
		}
		seen[name] = field
	}
	switch {
	case o.Replicas < 1 || o.Replicas > 5:
		return fmt.Errorf("%w: Replicas %d: want 1 to 5", ErrInvalidOptions, o.Replicas)
	case o.DuplicateWindow < 0:
		return fmt.Errorf("%w: DuplicateWindow %v is negative", ErrInvalidOptions, o.DuplicateWindow)
	case o.MaxAge > 0 && o.DuplicateWindow > o.MaxAge:
		return fmt.Errorf("%w: DuplicateWindow %v exceeds MaxAge %v", ErrInvalidOptions, o.DuplicateWindow, o.MaxAge)
	case o.Storage != jetstream.FileStorage && o.Storage != jetstream.MemoryStorage:
		return fmt.Errorf("%w: Storage %v", ErrInvalidOptions, o.Storage)
	}
	return nil
}

// positiveOr returns v when it is positive, else none (the API's value for "no limit").
func positiveOr[T time.Duration | int64](v T, none T) T {
	if v <= 0 {
		return none
	}
	return v
}

// streamConfig is the events stream.
func (o Options) streamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        o.Name,
		Description: "auditpipe: Teleport audit and session events",
		Subjects:    []string{SubjectAudit, SubjectSession, SubjectRedrive},
		Retention:   jetstream.LimitsPolicy, // every sink reads independently
		Discard:     jetstream.DiscardNew,   // see Options.MaxBytes
		MaxAge:      positiveOr(o.MaxAge, 0),
		MaxBytes:    positiveOr(o.MaxBytes, -1),
		MaxMsgs:     -1,
		MaxMsgSize:  -1,
		Duplicates:  o.DuplicateWindow,
		Storage:     o.Storage,
		Replicas:    o.Replicas,
	}
}

// dlqConfig is the dead-letter stream. Its duplicate window makes a repeated dead-lettering
// of one delivery (a shipper that crashed between the DLQ write and Term) a no-op.
func (o Options) dlqConfig() jetstream.StreamConfig {
	dup := o.DuplicateWindow
	if o.DLQMaxAge > 0 && o.DLQMaxAge < dup {
		dup = o.DLQMaxAge // the server refuses a window longer than MaxAge
	}
	return jetstream.StreamConfig{
		Name:        o.DLQ,
		Description: "auditpipe: events a sink rejected or could not deliver",
		Subjects:    []string{SubjectDLQ},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardNew,
		MaxAge:      positiveOr(o.DLQMaxAge, 0),
		MaxBytes:    positiveOr(o.DLQMaxBytes, -1),
		MaxMsgs:     -1,
		MaxMsgSize:  -1,
		Duplicates:  dup,
		Storage:     o.Storage,
		Replicas:    o.Replicas,
	}
}

// objectTTL is the events bucket's TTL: twice the stream's MaxAge, none when MaxAge is
// unlimited. With objectRefresh, every object lives at least MaxAge after the last message that
// refers to it, so it never expires before its messages, and expires without a cleanup job.
func (o Options) objectTTL() time.Duration { return 2 * positiveOr(o.MaxAge, 0) }

// objectRefresh is the age after which an identical large body is put again rather than
// reused (0: never): a reused object is younger than MaxAge, so it outlives the new message.
func (o Options) objectRefresh() time.Duration { return positiveOr(o.MaxAge, 0) }

func (o Options) bucketConfigs() []jetstream.ObjectStoreConfig {
	return []jetstream.ObjectStoreConfig{
		{
			Bucket:      o.Bucket,
			Description: "auditpipe: event bodies over the max payload, referenced from " + o.Name,
			TTL:         o.objectTTL(),
			Storage:     o.Storage,
			Replicas:    o.Replicas,
		},
		{
			Bucket:      o.DLQBucket,
			Description: "auditpipe: dead-letter bodies over the max payload, referenced from " + o.DLQ,
			TTL:         positiveOr(o.DLQMaxAge, 0),
			Storage:     o.Storage,
			Replicas:    o.Replicas,
		},
	}
}

// StreamAPI is the part of jetstream.JetStream that Ensure uses.
type StreamAPI interface {
	Stream(ctx context.Context, name string) (jetstream.Stream, error)
	CreateOrUpdateStream(ctx context.Context, cfg jetstream.StreamConfig) (jetstream.Stream, error)
	CreateOrUpdateObjectStore(ctx context.Context, cfg jetstream.ObjectStoreConfig) (jetstream.ObjectStore, error)
}

// Ensure creates the events stream, the DLQ stream and both object store buckets, or updates
// them to o. Limits (MaxAge, MaxBytes, DuplicateWindow, Replicas) change in place; a setting
// that cannot (storage type, retention, subjects that overlap another stream) returns
// ErrStreamConflict naming the stream and the setting. Ensure is idempotent and safe to call
// from every replica at start, concurrently.
func Ensure(ctx context.Context, js StreamAPI, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	o = o.withDefaults()
	for _, cfg := range []jetstream.StreamConfig{o.streamConfig(), o.dlqConfig()} {
		if err := checkImmutable(ctx, js, cfg.Name, cfg.Storage); err != nil {
			return err
		}
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return ensureError("stream "+cfg.Name, err)
		}
	}
	for _, cfg := range o.bucketConfigs() {
		// An object store is a stream named OBJ_<bucket>.
		if err := checkImmutable(ctx, js, "OBJ_"+cfg.Bucket, cfg.Storage); err != nil {
			return err
		}
		if _, err := js.CreateOrUpdateObjectStore(ctx, cfg); err != nil {
			return ensureError("object store "+cfg.Bucket, err)
		}
	}
	return nil
}

// checkImmutable compares an existing stream's unchangeable settings with the wanted ones, so
// the error says what to do instead of the server's generic invalid-config message.
func checkImmutable(ctx context.Context, js StreamAPI, name string, storage jetstream.StorageType) error {
	s, err := js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stream: look up %s: %w", name, err)
	}
	have := s.CachedInfo().Config
	if have.Storage != storage {
		return fmt.Errorf("%w: %s has %v storage, the configuration wants %v; storage cannot change in place",
			ErrStreamConflict, name, have.Storage, storage)
	}
	if have.Retention != jetstream.LimitsPolicy {
		return fmt.Errorf("%w: %s has %v retention, auditpipe needs limits (several sinks read it)",
			ErrStreamConflict, name, have.Retention)
	}
	return nil
}

// JetStream API error codes that mean the existing state conflicts with the configuration.
const (
	codeStreamInvalidConfig  jetstream.ErrorCode = 10052
	codeStreamSubjectOverlap jetstream.ErrorCode = 10065
)

func ensureError(what string, err error) error {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case codeStreamInvalidConfig, codeStreamSubjectOverlap, jetstream.JSErrCodeStreamNameInUse:
			return fmt.Errorf("%w: %s: %w", ErrStreamConflict, what, err)
		}
	}
	return fmt.Errorf("stream: ensure %s: %w", what, err)
}
