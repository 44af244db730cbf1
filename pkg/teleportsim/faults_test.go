package teleportsim

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gravitational/teleport/api/client"
	auditlogpb "github.com/gravitational/teleport/api/gen/proto/go/teleport/auditlog/v1"
	apitypes "github.com/gravitational/teleport/api/types"
	"github.com/gravitational/trace"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestFaultsValidate(t *testing.T) {
	tests := []struct {
		name    string
		given   Faults
		wantErr string
	}{
		{name: "none", given: Faults{}},
		{name: "all", given: Faults{Latency: time.Second, UnavailableRate: 1, ResourceExhaustedRate: 0.5,
			UnavailableNext: 3, ResourceExhaustedNext: 2, StreamCutAfter: 10, ExportNotImplemented: true}},
		{name: "negative latency", given: Faults{Latency: -1}, wantErr: "latency"},
		{name: "rate above one", given: Faults{UnavailableRate: 1.5}, wantErr: "unavailable rate"},
		{name: "negative rate", given: Faults{ResourceExhaustedRate: -0.1}, wantErr: "resource-exhausted rate"},
		{name: "NaN rate", given: Faults{UnavailableRate: math.NaN()}, wantErr: "unavailable rate NaN"},
		{name: "negative counts", given: Faults{UnavailableNext: -1, ResourceExhaustedNext: -1, StreamCutAfter: -1},
			wantErr: "unavailable-next -1 is negative\nresource-exhausted-next -1 is negative\nstream-cut-after -1 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.given.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Validate = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestSetFaultsKeepsCurrentOnError(t *testing.T) {
	s := startSim(t, ServerConfig{Log: simLog(t, 10, Options{}), Faults: Faults{UnavailableNext: 2}})
	if err := s.SetFaults(Faults{UnavailableRate: 2}); err == nil {
		t.Fatal("SetFaults accepted a rate of 2")
	}
	if got := s.Faults(); got != (Faults{UnavailableNext: 2}) {
		t.Fatalf("Faults = %+v after a rejected SetFaults", got)
	}
}

// TestFaultsSurfaceAsTeleportErrors shows every fault reaching Teleport's client as the trace
// error an exporter must turn into a decision.
func TestFaultsSurfaceAsTeleportErrors(t *testing.T) {
	log := simLog(t, 300, Options{ChunkSize: 100})
	ctx := context.Background()
	search := func(clt *client.Client) error {
		_, _, err := clt.SearchUnstructuredEvents(ctx, simFrom, simTo, "default", nil, 10, apitypes.EventOrderAscending, "")
		return err
	}
	ping := func(clt *client.Client) error { _, err := clt.Ping(ctx); return err }

	tests := []struct {
		name   string
		faults Faults
		// calls are made in order; want[i] checks the error of call i.
		calls []func(*client.Client) error
		want  []func(error) bool
		// left are the faults once the calls are made.
		left Faults
	}{
		{
			name:   "next unavailable",
			faults: Faults{UnavailableNext: 2},
			calls:  []func(*client.Client) error{search, ping, search},
			want:   []func(error) bool{trace.IsConnectionProblem, trace.IsConnectionProblem, isNil},
		},
		{
			name:   "next resource exhausted after next unavailable",
			faults: Faults{UnavailableNext: 1, ResourceExhaustedNext: 1},
			calls:  []func(*client.Client) error{search, search, search},
			want:   []func(error) bool{trace.IsConnectionProblem, trace.IsLimitExceeded, isNil},
		},
		{
			name:   "every call unavailable",
			faults: Faults{UnavailableRate: 1},
			calls:  []func(*client.Client) error{search, ping},
			want:   []func(error) bool{trace.IsConnectionProblem, trace.IsConnectionProblem},
			left:   Faults{UnavailableRate: 1},
		},
		{
			name:   "every call resource exhausted",
			faults: Faults{ResourceExhaustedRate: 1},
			calls:  []func(*client.Client) error{search, ping},
			want:   []func(error) bool{trace.IsLimitExceeded, trace.IsLimitExceeded},
			left:   Faults{ResourceExhaustedRate: 1},
		},
		{
			name:   "export stream cut",
			faults: Faults{StreamCutAfter: 3},
			calls: []func(*client.Client) error{func(clt *client.Client) error {
				return exportFirstChunk(ctx, clt, 3)
			}},
			want: []func(error) bool{trace.IsConnectionProblem},
			left: Faults{StreamCutAfter: 3},
		},
		{
			name:   "session stream cut",
			faults: Faults{StreamCutAfter: 2},
			calls: []func(*client.Client) error{func(clt *client.Client) error {
				evs, err := streamSession(clt, uploadedSessions(log)[0], 0, 0)
				if err != nil && len(evs) != 2 {
					t.Errorf("%d events before the cut, want 2", len(evs))
				}
				return err
			}},
			want: []func(error) bool{trace.IsConnectionProblem},
			left: Faults{StreamCutAfter: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startSim(t, ServerConfig{Log: log})
			clt := dialSim(t, s.Addr(), identityCreds(s))
			if err := s.SetFaults(tt.faults); err != nil {
				t.Fatal(err)
			}
			for i, call := range tt.calls {
				if err := call(clt); !tt.want[i](err) {
					t.Fatalf("call %d: %v (%T)", i, err, err)
				}
			}
			if got := s.Faults(); got != tt.left {
				t.Fatalf("Faults after the calls = %+v, want %+v", got, tt.left)
			}
		})
	}
}

// exportFirstChunk reads the first chunk of simFrom's day and checks that exactly want events
// arrived before the stream ended, returning how it ended.
func exportFirstChunk(ctx context.Context, clt *client.Client, want int) error {
	date := timestamppb.New(simFrom)
	chunks := clt.GetEventExportChunks(ctx, &auditlogpb.GetEventExportChunksRequest{Date: date})
	var name string
	for chunks.Next() {
		if name == "" {
			name = chunks.Item().GetChunk()
		}
	}
	if err := chunks.Done(); err != nil {
		return err
	}
	stream := clt.ExportUnstructuredEvents(ctx, &auditlogpb.ExportUnstructuredEventsRequest{Date: date, Chunk: name})
	n := 0
	for stream.Next() {
		n++
	}
	err := stream.Done()
	if n != want {
		return trace.BadParameter("%d events before the end %v, want %d", n, err, want)
	}
	return err
}

func TestFaultRatesAreFractions(t *testing.T) {
	s := startSim(t, ServerConfig{Log: simLog(t, 10, Options{}), Faults: Faults{ResourceExhaustedRate: 0.5}})
	clt := dialSim(t, s.Addr(), identityCreds(s))
	failed := 0
	const calls = 60
	for range calls {
		_, err := clt.Ping(context.Background())
		switch {
		case trace.IsLimitExceeded(err):
			failed++
		case err != nil:
			t.Fatalf("Ping: %v", err)
		}
	}
	// With p = 0.5, fewer than 10 or more than 50 failures in 60 calls has odds below 1e-7.
	if failed < 10 || failed > 50 {
		t.Fatalf("%d of %d calls failed at a rate of 0.5", failed, calls)
	}
}

func TestLatencyFault(t *testing.T) {
	s := startSim(t, ServerConfig{Log: simLog(t, 10, Options{})})
	clt := dialSim(t, s.Addr(), identityCreds(s))
	if err := s.SetFaults(Faults{Latency: 300 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := clt.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Fatalf("Ping took %v with 300ms of latency", took)
	}
	// A caller's deadline ends the wait.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := clt.Ping(ctx); err == nil {
		t.Fatal("Ping beat its deadline")
	}
}
