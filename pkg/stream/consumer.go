package stream

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ConsumerPrefix starts the durable name of every sink's consumer: sink-fluentd, sink-datadog,
// sink-lock. The names are a contract with operators and dashboards.
const ConsumerPrefix = "sink-"

// Consumer defaults.
const (
	DefaultAckWait       = 30 * time.Second
	DefaultMaxDeliver    = 10
	DefaultMaxAckPending = 1000
)

// DefaultBackOff is the ack wait of successive deliveries when ConsumerOptions set neither
// AckWait nor BackOff.
func DefaultBackOff() []time.Duration {
	return []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute}
}

// ConsumerOptions configure a sink's consumer. The zero value is usable.
type ConsumerOptions struct {
	// AckWait is how long a delivery may stay unacknowledged before JetStream delivers it
	// again. Shippers extend it for slow sinks with InProgress.
	AckWait time.Duration
	// BackOff, in JetStream's sense, lists the ack wait of each successive delivery (the last
	// value repeats), so a message that keeps failing is retried less and less often. Its
	// first value is the AckWait: set one of the two, or both equal. With neither set,
	// AckWait is DefaultAckWait and BackOff is DefaultBackOff(); with only AckWait set, every
	// delivery waits AckWait. A shipper that knows when to retry (Retry-After) naks with a
	// delay instead.
	BackOff []time.Duration
	// MaxDeliver is how many times a message is delivered before JetStream gives up on it
	// (the shipper dead-letters it on the last delivery); DefaultMaxDeliver when 0, unlimited
	// when -1. It may not be less than len(BackOff).
	MaxDeliver int
	// MaxAckPending bounds the unacknowledged messages across every shipper replica of the
	// sink; DefaultMaxAckPending when 0.
	MaxAckPending int
	// Subjects the sink reads; EventSubjects() when empty. Each must lie within
	// teleport.audit.> or teleport.session.> (the lock sink, say, needs only
	// teleport.audit.user.login). The sink's redrive subject is always added.
	Subjects []string
}

// sinkRE is what a sink name may hold: it is one subject token and part of a durable name.
var sinkRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func validSink(sink string) error {
	if !sinkRE.MatchString(sink) {
		return fmt.Errorf("%w: sink name %q: only letters, digits, '_' and '-'", ErrInvalidOptions, sink)
	}
	return nil
}

// ConsumerName is the durable consumer name of a sink: "sink-" + sink.
func ConsumerName(sink string) string { return ConsumerPrefix + sink }

// redrivePrefix starts every redrive subject: teleport.redrive.<sink>.<kind>.<type>.
const redrivePrefix = "teleport.redrive."

// RedriveFilter is the subject filter of a sink's redriven messages:
// teleport.redrive.<sink>.>.
func RedriveFilter(sink string) string { return redrivePrefix + sink + ".>" }

// RedriveSubject returns the subject that delivers an event to one sink's consumer only:
// teleport.redrive.<sink>.<kind>.<type> for an event subject teleport.<kind>.<type>. A
// redrive subject of any sink is accepted too and retargeted.
func RedriveSubject(sink, subject string) (string, error) {
	if err := validSink(sink); err != nil {
		return "", err
	}
	rest, err := eventSubjectTail(subject)
	if err != nil {
		return "", err
	}
	return redrivePrefix + sink + "." + rest, nil
}

// EventSubject returns the event subject teleport.<kind>.<type> that subject stands for, whether
// it is that subject already or a redrive subject.
func EventSubject(subject string) (string, error) {
	rest, err := eventSubjectTail(subject)
	if err != nil {
		return "", err
	}
	return "teleport." + rest, nil
}

// eventSubjectTail returns "<kind>.<type>" of an event or redrive subject.
func eventSubjectTail(subject string) (string, error) {
	if rest, ok := strings.CutPrefix(subject, redrivePrefix); ok {
		if _, tail, found := strings.Cut(rest, "."); found {
			subject = "teleport." + tail
		}
	}
	for _, prefix := range []string{"teleport.audit.", "teleport.session."} {
		if strings.HasPrefix(subject, prefix) && len(subject) > len(prefix) {
			return strings.TrimPrefix(subject, "teleport."), nil
		}
	}
	return "", fmt.Errorf("%w: %q is not an event subject", ErrInvalidOptions, subject)
}

// ConsumerConfig returns the durable pull consumer of a sink, shared by every shipper replica
// that serves the sink: named ConsumerName(sink), explicit ack, every message of the stream
// from the start (a new sink backfills what the stream still holds), filtered on o.Subjects
// and RedriveFilter(sink).
func ConsumerConfig(sink string, o ConsumerOptions) (jetstream.ConsumerConfig, error) {
	if err := validSink(sink); err != nil {
		return jetstream.ConsumerConfig{}, err
	}
	ackWait, backOff := o.AckWait, o.BackOff
	switch {
	case ackWait == 0 && len(backOff) == 0:
		ackWait, backOff = DefaultAckWait, DefaultBackOff()
	case ackWait == 0:
		ackWait = backOff[0]
	case len(backOff) > 0 && backOff[0] != ackWait:
		return jetstream.ConsumerConfig{}, fmt.Errorf("%w: BackOff[0] %v differs from AckWait %v (JetStream uses BackOff[0] as the ack wait)",
			ErrInvalidOptions, backOff[0], ackWait)
	}
	if ackWait < 0 {
		return jetstream.ConsumerConfig{}, fmt.Errorf("%w: AckWait %v", ErrInvalidOptions, ackWait)
	}
	for _, d := range backOff {
		if d <= 0 {
			return jetstream.ConsumerConfig{}, fmt.Errorf("%w: BackOff %v", ErrInvalidOptions, backOff)
		}
	}
	maxDeliver := o.MaxDeliver
	switch {
	case maxDeliver == 0:
		maxDeliver = max(DefaultMaxDeliver, len(backOff))
	case maxDeliver < -1:
		return jetstream.ConsumerConfig{}, fmt.Errorf("%w: MaxDeliver %d", ErrInvalidOptions, maxDeliver)
	case maxDeliver != -1 && maxDeliver < len(backOff):
		return jetstream.ConsumerConfig{}, fmt.Errorf("%w: MaxDeliver %d is less than the %d BackOff values",
			ErrInvalidOptions, maxDeliver, len(backOff))
	}
	maxAckPending := o.MaxAckPending
	switch {
	case maxAckPending == 0:
		maxAckPending = DefaultMaxAckPending
	case maxAckPending < 0:
		return jetstream.ConsumerConfig{}, fmt.Errorf("%w: MaxAckPending %d", ErrInvalidOptions, maxAckPending)
	}
	subjects := o.Subjects
	if len(subjects) == 0 {
		subjects = EventSubjects()
	}
	filters := make([]string, 0, len(subjects)+1)
	for _, s := range subjects {
		if s != SubjectAudit && s != SubjectSession {
			if _, err := eventSubjectTail(s); err != nil || strings.HasPrefix(s, redrivePrefix) {
				return jetstream.ConsumerConfig{}, fmt.Errorf("%w: subject %q is not within %s or %s",
					ErrInvalidOptions, s, SubjectAudit, SubjectSession)
			}
		}
		filters = append(filters, s)
	}
	filters = append(filters, RedriveFilter(sink))
	return jetstream.ConsumerConfig{
		Durable:        ConsumerName(sink),
		Description:    "auditpipe: events for the " + sink + " sink",
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        ackWait,
		BackOff:        backOff,
		MaxDeliver:     maxDeliver,
		MaxAckPending:  maxAckPending,
		FilterSubjects: filters,
		ReplayPolicy:   jetstream.ReplayInstantPolicy,
	}, nil
}

// ConsumerAPI is the part of jetstream.JetStream that EnsureConsumer uses.
type ConsumerAPI interface {
	CreateOrUpdateConsumer(ctx context.Context, stream string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error)
}

// EnsureConsumer creates the sink's consumer on stream, or updates it to o (ack wait, backoff,
// limits and subjects change in place; the delivery position is kept). Every shipper replica
// may call it at start, concurrently.
func EnsureConsumer(ctx context.Context, js ConsumerAPI, stream, sink string, o ConsumerOptions) (jetstream.Consumer, error) {
	cfg, err := ConsumerConfig(sink, o)
	if err != nil {
		return nil, err
	}
	c, err := js.CreateOrUpdateConsumer(ctx, stream, cfg)
	if err != nil {
		return nil, fmt.Errorf("stream: ensure consumer %s on %s: %w", cfg.Durable, stream, err)
	}
	return c, nil
}
