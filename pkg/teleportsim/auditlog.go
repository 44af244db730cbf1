package teleportsim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	apidefaults "github.com/gravitational/teleport/api/defaults"
	auditlogpb "github.com/gravitational/teleport/api/gen/proto/go/teleport/auditlog/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// auditLogService serves teleport.auditlog.v1.AuditLogService from an EventSource. It is safe
// for concurrent use: it holds no state of its own beyond the source and the faults.
type auditLogService struct {
	auditlogpb.UnimplementedAuditLogServiceServer
	log    EventSource
	faults *faultInjector
}

// GetUnstructuredEvents answers one page of a search. The request's order is cast back from
// the wire as Teleport's server does (0 ascending, 1 descending).
func (s *auditLogService) GetUnstructuredEvents(ctx context.Context, req *auditlogpb.GetUnstructuredEventsRequest) (*auditlogpb.EventsUnstructured, error) {
	if ns := req.GetNamespace(); ns != "" && ns != apidefaults.Namespace {
		return nil, status.Errorf(codes.InvalidArgument, "teleportsim: namespace %q: only %q exists", ns, apidefaults.Namespace)
	}
	order := Order(req.GetOrder())
	if order != Ascending && order != Descending {
		return nil, status.Errorf(codes.InvalidArgument, "teleportsim: order %d is neither ascending (0) nor descending (1)", req.GetOrder())
	}
	page, lastKey, err := s.log.Search(SearchQuery{
		From:     req.GetStartDate().AsTime(),
		To:       req.GetEndDate().AsTime(),
		Types:    req.GetEventTypes(),
		Limit:    int(req.GetLimit()),
		Order:    order,
		StartKey: req.GetStartKey(),
	})
	if err != nil {
		return nil, grpcError(err)
	}
	items := make([]*auditlogpb.EventUnstructured, 0, len(page))
	for _, ev := range page {
		item, err := toUnstructured(ev)
		if err != nil {
			return nil, grpcError(err)
		}
		items = append(items, item)
	}
	return &auditlogpb.EventsUnstructured{Items: items, LastKey: lastKey}, nil
}

// GetEventExportChunks streams the names of the chunks of the request's UTC day.
func (s *auditLogService) GetEventExportChunks(req *auditlogpb.GetEventExportChunksRequest, stream grpc.ServerStreamingServer[auditlogpb.EventExportChunk]) error {
	if err := s.exportAvailable(); err != nil {
		return err
	}
	day, err := exportDay(req.GetDate())
	if err != nil {
		return err
	}
	chunks, err := s.log.ExportChunks(day)
	if err != nil {
		return grpcError(err)
	}
	for _, chunk := range chunks {
		if err := stream.Send(&auditlogpb.EventExportChunk{Chunk: chunk}); err != nil {
			return err
		}
	}
	return nil
}

// ExportUnstructuredEvents streams one chunk of the request's UTC day from its cursor; every
// event carries the cursor to resume after it.
func (s *auditLogService) ExportUnstructuredEvents(req *auditlogpb.ExportUnstructuredEventsRequest, stream grpc.ServerStreamingServer[auditlogpb.ExportEventUnstructured]) error {
	if err := s.exportAvailable(); err != nil {
		return err
	}
	day, err := exportDay(req.GetDate())
	if err != nil {
		return err
	}
	ctx := stream.Context()
	err = s.log.ExportChunk(day, req.GetChunk(), req.GetCursor(), func(ev Event, cursor string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		item, err := toUnstructured(ev)
		if err != nil {
			return err
		}
		return stream.Send(&auditlogpb.ExportEventUnstructured{Event: item, Cursor: cursor})
	})
	return grpcError(err)
}

// StreamUnstructuredSessionEvents streams one session recording from the request's index;
// NotFound while the recording is not uploaded.
func (s *auditLogService) StreamUnstructuredSessionEvents(req *auditlogpb.StreamUnstructuredSessionEventsRequest, stream grpc.ServerStreamingServer[auditlogpb.EventUnstructured]) error {
	if req.GetSessionId() == "" {
		return status.Error(codes.InvalidArgument, "teleportsim: missing session_id")
	}
	ctx := stream.Context()
	err := s.log.SessionEvents(req.GetSessionId(), int64(req.GetStartIndex()), func(ev Event) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		item, err := toUnstructured(ev)
		if err != nil {
			return err
		}
		return stream.Send(item)
	})
	return grpcError(err)
}

func (s *auditLogService) exportAvailable() error {
	if s.faults.get().ExportNotImplemented {
		return status.Error(codes.Unimplemented, "teleportsim: event export is not implemented by this audit log backend")
	}
	return nil
}

// exportDay is the UTC day of an export request's date; Teleport uses only the date part.
func exportDay(ts *timestamppb.Timestamp) (time.Time, error) {
	if ts == nil {
		return time.Time{}, status.Error(codes.InvalidArgument, "teleportsim: missing date")
	}
	if err := ts.CheckValid(); err != nil {
		return time.Time{}, status.Errorf(codes.InvalidArgument, "teleportsim: date: %v", err)
	}
	y, m, d := ts.AsTime().UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
}

// toUnstructured converts an event as Teleport's events.ToUnstructured does: the whole JSON
// becomes the Struct (so every number becomes a float64), id is the event's uid or, when it
// has none, the hex SHA-256 of the JSON, and index is the event index ("ei").
func toUnstructured(ev Event) (*auditlogpb.EventUnstructured, error) {
	fields := &structpb.Struct{}
	if err := fields.UnmarshalJSON(ev.JSON); err != nil {
		return nil, fmt.Errorf("teleportsim: event %s %q is not a JSON object: %w", ev.Type, ev.UID, err)
	}
	id := ev.UID
	if id == "" {
		sum := sha256.Sum256(ev.JSON)
		id = hex.EncodeToString(sum[:])
	}
	return &auditlogpb.EventUnstructured{
		Type:         ev.Type,
		Id:           id,
		Time:         timestamppb.New(ev.Time),
		Index:        ev.Index,
		Unstructured: fields,
	}, nil
}

// grpcError maps the Log's errors to the codes Teleport answers with; Teleport's client turns
// them back into trace errors (trail.FromGRPC): NotFound → trace.IsNotFound, InvalidArgument →
// trace.IsBadParameter. A gRPC status (e.g. from a failed Send) passes through unchanged.
func grpcError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	switch {
	case errors.Is(err, ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, ErrBadCursor), errors.Is(err, ErrBadRequest):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	}
	return status.Error(codes.Internal, err.Error())
}
