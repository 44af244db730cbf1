package teleportsim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Faults are the failures a Server injects into its RPCs, switchable at run time with
// Server.SetFaults. The zero value injects nothing.
//
// Every RPC the Server receives (AuditLogService and AuthService, Ping included) passes the
// fault gate once, before its handler runs: first it waits Latency, then the "Next" counters
// are consumed (Unavailable before ResourceExhausted), then the rates are drawn. A failed call
// never reaches the Log. Teleport's client surfaces codes.Unavailable as
// trace.IsConnectionProblem and codes.ResourceExhausted as trace.IsLimitExceeded.
//
// Note that the client's circuit breaker (api/breaker) opens when at least 10 calls within a
// minute fail with Unavailable at a ratio of 90% or more; after that it fails calls locally
// without reaching the Server.
type Faults struct {
	// Latency is added before every RPC is answered (before the first message of a stream).
	Latency time.Duration
	// UnavailableRate is the fraction, in [0, 1], of RPCs that fail with codes.Unavailable.
	UnavailableRate float64
	// ResourceExhaustedRate is the fraction, in [0, 1], of RPCs that fail with
	// codes.ResourceExhausted (Teleport's rate limiter answers so).
	ResourceExhaustedRate float64
	// UnavailableNext makes the next N RPCs fail with codes.Unavailable; it counts down.
	UnavailableNext int
	// ResourceExhaustedNext makes the next N RPCs (after UnavailableNext is spent) fail with
	// codes.ResourceExhausted; it counts down.
	ResourceExhaustedNext int
	// StreamCutAfter, when > 0, ends every server stream (export, chunks, session events) with
	// codes.Unavailable after it has sent this many messages, as a dropped connection would.
	StreamCutAfter int
	// ExportNotImplemented makes GetEventExportChunks and ExportUnstructuredEvents answer
	// codes.Unimplemented, as Teleport does on backends without bulk export (DynamoDB, the
	// file log); the client sees trace.IsNotImplemented.
	ExportNotImplemented bool
}

// Validate reports a rate outside [0, 1] or a negative duration or count.
func (f Faults) Validate() error {
	var errs []error
	if f.Latency < 0 {
		errs = append(errs, fmt.Errorf("latency %v is negative", f.Latency))
	}
	if !(f.UnavailableRate >= 0 && f.UnavailableRate <= 1) { // NaN too
		errs = append(errs, fmt.Errorf("unavailable rate %v is outside [0, 1]", f.UnavailableRate))
	}
	if !(f.ResourceExhaustedRate >= 0 && f.ResourceExhaustedRate <= 1) {
		errs = append(errs, fmt.Errorf("resource-exhausted rate %v is outside [0, 1]", f.ResourceExhaustedRate))
	}
	if f.UnavailableNext < 0 {
		errs = append(errs, fmt.Errorf("unavailable-next %d is negative", f.UnavailableNext))
	}
	if f.ResourceExhaustedNext < 0 {
		errs = append(errs, fmt.Errorf("resource-exhausted-next %d is negative", f.ResourceExhaustedNext))
	}
	if f.StreamCutAfter < 0 {
		errs = append(errs, fmt.Errorf("stream-cut-after %d is negative", f.StreamCutAfter))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("teleportsim: faults: %w", err)
	}
	return nil
}

// faultInjector holds the current Faults; it is safe for concurrent use.
type faultInjector struct {
	mu     sync.Mutex
	faults Faults
}

func (fi *faultInjector) set(f Faults) error {
	if err := f.Validate(); err != nil {
		return err
	}
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.faults = f
	return nil
}

func (fi *faultInjector) get() Faults {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	return fi.faults
}

// decide consumes one RPC's share of the faults: the latency to add and the error to fail
// with (nil to let the call through).
func (fi *faultInjector) decide(method string) (time.Duration, error) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	f := &fi.faults
	switch {
	case f.UnavailableNext > 0:
		f.UnavailableNext--
		return f.Latency, injected(codes.Unavailable, method)
	case f.ResourceExhaustedNext > 0:
		f.ResourceExhaustedNext--
		return f.Latency, injected(codes.ResourceExhausted, method)
	case f.UnavailableRate > 0 && rand.Float64() < f.UnavailableRate:
		return f.Latency, injected(codes.Unavailable, method)
	case f.ResourceExhaustedRate > 0 && rand.Float64() < f.ResourceExhaustedRate:
		return f.Latency, injected(codes.ResourceExhausted, method)
	}
	return f.Latency, nil
}

func injected(code codes.Code, method string) error {
	return status.Errorf(code, "teleportsim: injected fault on %s", method)
}

// gate runs the fault gate for one RPC: it waits the latency (or until ctx ends) and returns
// the injected error, if any.
func (fi *faultInjector) gate(ctx context.Context, method string) error {
	latency, err := fi.decide(method)
	if latency > 0 {
		t := time.NewTimer(latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
	return err
}

func (fi *faultInjector) unaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := fi.gate(ctx, info.FullMethod); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (fi *faultInjector) streamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := fi.gate(ss.Context(), info.FullMethod); err != nil {
		return err
	}
	if cut := fi.get().StreamCutAfter; cut > 0 {
		ss = &cutStream{ServerStream: ss, left: cut, method: info.FullMethod}
	}
	return handler(srv, ss)
}

// cutStream fails the stream with Unavailable once it has sent its quota of messages.
type cutStream struct {
	grpc.ServerStream
	left   int
	method string
}

func (c *cutStream) SendMsg(m any) error {
	if c.left <= 0 {
		return injected(codes.Unavailable, c.method+" (stream cut)")
	}
	c.left--
	return c.ServerStream.SendMsg(m)
}
