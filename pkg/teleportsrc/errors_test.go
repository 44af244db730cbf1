package teleportsrc

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/gravitational/teleport/api/trail"
	"github.com/gravitational/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// remote is an error as Teleport's client returns it for a gRPC status: converted to a trace
// error by its interceptor, wrapped by the client method, then by the Client.
func remote(code codes.Code) error {
	return fmt.Errorf("teleportsrc: search: %w", trace.Wrap(trail.FromGRPC(status.Error(code, "from Teleport"))))
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name     string
		given    error
		want     Action
		wantCode codes.Code
	}{
		{name: "nil", given: nil, want: OK, wantCode: codes.OK},
		{name: "unavailable", given: remote(codes.Unavailable), want: Retry, wantCode: codes.Unavailable},
		{name: "connection problem", given: trace.ConnectionProblem(errors.New("dial"), "failed to dial"), want: Retry, wantCode: codes.Unavailable},
		{name: "rate limited", given: remote(codes.ResourceExhausted), want: Retry, wantCode: codes.ResourceExhausted},
		{name: "server deadline", given: remote(codes.DeadlineExceeded), want: Retry, wantCode: codes.DeadlineExceeded},
		{name: "caller deadline", given: fmt.Errorf("x: %w", context.DeadlineExceeded), want: Retry, wantCode: codes.DeadlineExceeded},
		{name: "internal", given: remote(codes.Internal), want: Retry, wantCode: codes.Internal},
		{name: "unknown", given: errors.New("boom"), want: Retry, wantCode: codes.Unknown},
		{name: "server canceled", given: remote(codes.Canceled), want: Retry, wantCode: codes.Canceled},
		{name: "not found", given: remote(codes.NotFound), want: NotFound, wantCode: codes.NotFound},
		{name: "not implemented", given: remote(codes.Unimplemented), want: NotImplemented, wantCode: codes.Unimplemented},
		{name: "bad parameter", given: remote(codes.InvalidArgument), want: BadCursor, wantCode: codes.InvalidArgument},
		{name: "out of range", given: remote(codes.OutOfRange), want: BadCursor, wantCode: codes.OutOfRange},
		{name: "access denied", given: remote(codes.PermissionDenied), want: Fatal, wantCode: codes.PermissionDenied},
		{name: "unauthenticated", given: remote(codes.Unauthenticated), want: Fatal, wantCode: codes.Unauthenticated},
		{name: "expired certificate", given: fmt.Errorf("%w at x", ErrCertExpired), want: Fatal, wantCode: codes.Unknown},
		{name: "bad credentials", given: fmt.Errorf("%w: %w", ErrCredentials, trace.NotFound("no file")), want: Fatal, wantCode: codes.NotFound},
		{name: "invalid argument", given: ErrInvalidArgument, want: Fatal, wantCode: codes.Unknown},
		{name: "caller canceled", given: fmt.Errorf("x: %w: %w", context.Canceled, remote(codes.Canceled)), want: Canceled, wantCode: codes.Canceled},
		{name: "closed", given: fmt.Errorf("x: %w: %w", ErrClosed, remote(codes.Unavailable)), want: Canceled, wantCode: codes.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.given); got != tt.want {
				t.Errorf("Classify(%v) = %v, want %v", tt.given, got, tt.want)
			}
			if got := Code(tt.given); got != tt.wantCode {
				t.Errorf("Code(%v) = %v, want %v", tt.given, got, tt.wantCode)
			}
		})
	}
}
