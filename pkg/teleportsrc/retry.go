package teleportsrc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Backoff between retries of a failed call: exponential from retryInitial to retryMax, with
// ±50% jitter so that replicas do not retry in step.
const (
	retryInitial = 250 * time.Millisecond
	retryMax     = 10 * time.Second
)

// forever is a retry limit that is never reached.
const forever = time.Duration(math.MaxInt64)

// stopError carries an error of the caller's yield out of a retried attempt: it ends the call
// and is returned unchanged, never retried or counted.
type stopError struct{ err error }

func (e *stopError) Error() string { return e.err.Error() }

// retry runs attempt until it succeeds or fails with an error that is not Retry, until ctx ends
// or the Client is closed, or until retrying would take longer than limit since the last
// progress (0 disables retrying). An attempt that made progress (streamed an event) restarts
// the backoff and the limit. Every failed attempt is counted and every retry logged; the error
// returned is wrapped with the method name (see failed).
func (c *Client) retry(ctx context.Context, method string, limit time.Duration, attempt func() (progressed bool, err error)) error {
	b := &backoff.ExponentialBackOff{
		InitialInterval:     retryInitial,
		RandomizationFactor: 0.5,
		Multiplier:          2,
		MaxInterval:         retryMax,
	}
	b.Reset()
	since := time.Now()
	for n := 1; ; n++ {
		progressed, err := attempt()
		if err == nil {
			return nil
		}
		if stop, ok := errors.AsType[*stopError](err); ok {
			return stop.err
		}
		err = c.failed(ctx, method, err)
		if Classify(err) != Retry || ctx.Err() != nil {
			return err
		}
		if progressed {
			b.Reset()
			since = time.Now()
		}
		delay := b.NextBackOff()
		if time.Since(since)+delay > limit {
			return err
		}
		c.log.WarnContext(ctx, "Teleport call failed; retrying",
			"method", method, "code", Code(err).String(), "attempt", n, "retry_in", delay.String(), "error", err)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (last error: %w)", ctx.Err(), err)
		case <-c.bg.Done():
			t.Stop()
			return fmt.Errorf("%w (last error: %w)", ErrClosed, err)
		}
	}
}

// failed wraps err, an error of one attempt at method, with the method name and counts it in
// auditpipe_teleport_errors_total. An error caused by the end of ctx or by Close also wraps
// context's error or ErrClosed, so that Classify says Canceled (or Retry for a deadline), and
// is not counted: it is not Teleport's. A transient error while the certificate has expired
// also wraps ErrCertExpired, so that Classify says Fatal.
func (c *Client) failed(ctx context.Context, method string, err error) error {
	switch {
	case ctx.Err() != nil && !errors.Is(err, ctx.Err()):
		return fmt.Errorf("teleportsrc: %s: %w: %w", method, ctx.Err(), err)
	case ctx.Err() != nil:
		return fmt.Errorf("teleportsrc: %s: %w", method, err)
	case c.bg.Err() != nil:
		return fmt.Errorf("teleportsrc: %s: %w: %w", method, ErrClosed, err)
	}
	c.metrics.errors.WithLabelValues(method, Code(err).String()).Inc()
	if Classify(err) == Retry && c.Expired() {
		// Teleport refuses the expired certificate on every new connection: retrying cannot
		// help until the identity is renewed.
		return fmt.Errorf("teleportsrc: %s: %w: %w", method, ErrCertExpired, err)
	}
	return fmt.Errorf("teleportsrc: %s: %w", method, err)
}
