package teleportsrc

import (
	"context"
	"errors"

	"github.com/gravitational/teleport/api/trail"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Errors the Client raises itself, beside those Teleport answers with.
var (
	// ErrCredentials: the configured credentials cannot be loaded (a missing or malformed
	// identity file, key pair or CA). Fatal.
	ErrCredentials = errors.New("teleportsrc: bad Teleport credentials")
	// ErrCertExpired: the client certificate has expired; Teleport refuses it until the identity
	// is renewed. Fatal.
	ErrCertExpired = errors.New("teleportsrc: Teleport client certificate expired")
	// ErrNotConnected: the gRPC connection to Teleport is down (it is being re-established).
	ErrNotConnected = errors.New("teleportsrc: not connected to Teleport")
	// ErrReloadDisabled: Reload was called for credentials that are not reloaded (a key pair,
	// or an identity file with teleport.refresh.enabled = false).
	ErrReloadDisabled = errors.New("teleportsrc: credential reload is not enabled")
	// ErrInvalidArgument: a caller passed an argument the Client cannot send (a bad config, a
	// negative limit, a session index beyond Teleport's int32). Fatal: a bug, not a condition.
	ErrInvalidArgument = errors.New("teleportsrc: invalid argument")
	// ErrClosed: the Client was closed.
	ErrClosed = errors.New("teleportsrc: client closed")
)

// Action is what the ingest engine does about a failed call.
type Action int

const (
	// OK: no error.
	OK Action = iota
	// Retry: a transient failure (connection lost, Unavailable, ResourceExhausted,
	// DeadlineExceeded, an internal error of the backend). Try again with backoff.
	Retry
	// NotFound: the object does not exist yet, e.g. a session recording that is not uploaded.
	// Try again much later.
	NotFound
	// NotImplemented: the cluster lacks the API (bulk export on DynamoDB or the file log). Use
	// search mode.
	NotImplemented
	// BadCursor: Teleport rejected the cursor or a parameter (InvalidArgument, OutOfRange).
	// Restart the window from its start, without the cursor.
	BadCursor
	// Fatal: nothing succeeds until an operator acts (access denied, expired or bad
	// credentials, a caller bug). Stop and report.
	Fatal
	// Canceled: the caller's context ended or the Client was closed. Stop quietly.
	Canceled
)

func (a Action) String() string {
	switch a {
	case OK:
		return "ok"
	case Retry:
		return "retry"
	case NotFound:
		return "not_found"
	case NotImplemented:
		return "not_implemented"
	case BadCursor:
		return "bad_cursor"
	case Fatal:
		return "fatal"
	case Canceled:
		return "canceled"
	}
	return "unknown"
}

// Classify turns an error of the Client (Teleport's trace errors, gRPC statuses, the errors
// above, context errors) into the Action to take. Unknown errors are Retry: a transient fault
// of Teleport's backend is far more likely than a permanent one, and retries are visible in
// logs and metrics.
func Classify(err error) Action {
	switch {
	case err == nil:
		return OK
	case errors.Is(err, ErrCredentials), errors.Is(err, ErrCertExpired), errors.Is(err, ErrInvalidArgument):
		return Fatal
	case errors.Is(err, ErrClosed), errors.Is(err, context.Canceled):
		return Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return Retry
	}
	switch Code(err) {
	case codes.NotFound:
		return NotFound
	case codes.Unimplemented:
		return NotImplemented
	case codes.InvalidArgument, codes.OutOfRange:
		return BadCursor
	case codes.PermissionDenied, codes.Unauthenticated:
		return Fatal
	}
	return Retry
}

// Code is the gRPC code of err, for metric labels and logs: the status Teleport answered with
// (recovered from the trace error the client made of it), Canceled or DeadlineExceeded for
// context errors, Unknown for anything else.
func Code(err error) codes.Code {
	switch {
	case err == nil:
		return codes.OK
	case errors.Is(err, context.Canceled):
		return codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded
	}
	// Teleport's client turns statuses into trace errors (trail.FromGRPC); trail.ToGRPC maps
	// them back, and keeps a wrapped status as it is.
	return status.Code(trail.ToGRPC(err))
}
