package stream

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Functions of this package wrap them with detail (fmt.Errorf("%w: …")); check
// them with errors.Is.
var (
	// ErrInvalidOptions marks Options, ConsumerOptions or a sink name that cannot be used.
	ErrInvalidOptions = errors.New("stream: invalid options")

	// ErrStreamConflict marks an existing stream or bucket with a setting that cannot be changed
	// in place (storage type, retention, overlapping subjects). Fixing it needs an operator: back
	// the data up, delete the stream and let Ensure recreate it, or change the configuration.
	ErrStreamConflict = errors.New("stream: existing stream conflicts with the configuration")

	// ErrPublish marks a page or message that was not stored. The error is a *PageError when it
	// comes from Publisher.PublishPage.
	ErrPublish = errors.New("stream: publish failed")

	// ErrAckTimeout marks a message whose PubAck did not arrive within
	// PublisherOptions.AckTimeout. PublishPage sends such a message again (its message id makes
	// that safe) until its context ends.
	ErrAckTimeout = errors.New("stream: no PubAck in time")

	// ErrTooLarge marks a message whose headers alone exceed the server's max payload, so that
	// not even a reference to an offloaded body fits.
	ErrTooLarge = errors.New("stream: message headers exceed the max payload")

	// ErrObjectMissing marks a reference to a large body that is not in its object store (it
	// expired or was deleted). Retrying does not help.
	ErrObjectMissing = errors.New("stream: referenced object is missing")

	// ErrBadReference marks an Auditpipe-Object header that is not "<bucket>/<key>".
	ErrBadReference = errors.New("stream: malformed object reference")

	// ErrNotFound marks a dead letter that does not exist (never written, deleted or redriven).
	ErrNotFound = errors.New("stream: dead letter not found")
)

// PageError reports the events of a page that were not acknowledged. Events not listed in
// Failed were stored (or were duplicates) and need not be published again, though doing so is
// harmless: their message ids deduplicate them.
type PageError struct {
	// Events is the page size.
	Events int
	// Failed lists the events without a PubAck, in page order.
	Failed []Failure
}

// Failure is one event of a page that was not acknowledged, with its last error.
type Failure struct {
	Index   int    // position in the page
	MsgID   string // its Nats-Msg-Id
	Subject string
	Err     error
}

// Error names the failed events (the first few) and their errors.
func (e *PageError) Error() string {
	const shown = 3
	var b strings.Builder
	fmt.Fprintf(&b, "%v: %d of %d events not acknowledged", ErrPublish, len(e.Failed), e.Events)
	for i, f := range e.Failed {
		if i == shown {
			fmt.Fprintf(&b, "; and %d more", len(e.Failed)-shown)
			break
		}
		fmt.Fprintf(&b, "; event %d (msg id %q, %s): %v", f.Index, f.MsgID, f.Subject, f.Err)
	}
	return b.String()
}

// Unwrap returns ErrPublish and every failure's error, so errors.Is finds ErrPublish as well as
// causes such as context.DeadlineExceeded or ErrTooLarge.
func (e *PageError) Unwrap() []error {
	errs := make([]error, 0, len(e.Failed)+1)
	errs = append(errs, ErrPublish)
	for _, f := range e.Failed {
		errs = append(errs, f.Err)
	}
	return errs
}
