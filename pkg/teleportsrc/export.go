package teleportsrc

import (
	"context"
	"time"

	auditlogpb "github.com/gravitational/teleport/api/gen/proto/go/teleport/auditlog/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/auditpipe/auditpipe/pkg/event"
)

// ProbeExport reports whether the cluster has the bulk export API, by listing today's chunks:
// false (and a nil error) when Teleport answers NotImplemented, as on DynamoDB and file-log
// backends, which must be read by Search. Other errors are returned as they are.
func (c *Client) ProbeExport(ctx context.Context) (bool, error) {
	_, err := c.ExportChunks(ctx, time.Now())
	switch {
	case err == nil:
		return true, nil
	case Classify(err) == NotImplemented:
		return false, nil
	}
	return false, err
}

// ExportChunks lists the export chunks of day's UTC date (the time of day is ignored), in the
// order Teleport sends them. The list can grow after the day has passed: chunks of late
// events appear later, so recent days must be listed again. A cluster without bulk export
// answers NotImplemented. Transient failures are retried, listing again from the start.
func (c *Client) ExportChunks(ctx context.Context, day time.Time) ([]string, error) {
	req := &auditlogpb.GetEventExportChunksRequest{Date: utcDate(day)}
	var chunks []string
	err := c.retry(ctx, methodExportChunks, c.retryTimeout, func() (bool, error) {
		chunks = chunks[:0]
		stream := c.clt.GetEventExportChunks(ctx, req)
		for stream.Next() {
			chunks = append(chunks, stream.Item().GetChunk())
		}
		return false, stream.Done() // Done ends the stream: it cancels the call's context
	})
	if err != nil {
		return nil, err
	}
	return chunks, nil
}

// ExportChunk streams the events of one chunk of day's UTC date that follow cursor ("" = from
// the start), calling yield with each event and the cursor that resumes after it. Events
// inside a chunk are in Teleport's order; across chunks they are not ordered. The events'
// Kind is event.Audit.
//
// A stream that breaks (connection lost, Unavailable) is resumed from the cursor of the last
// event yielded, so each event is yielded once; see WithRetryTimeout. An error returned by
// yield ends the stream and is returned unchanged. The stream is closed when ExportChunk
// returns. A chunk Teleport does not list (any more) is NotFound; a cursor it rejects is
// BadCursor.
func (c *Client) ExportChunk(ctx context.Context, day time.Time, chunk, cursor string, yield func(ev event.Event, cursor string) error) error {
	date := utcDate(day)
	return c.retry(ctx, methodExportEvents, c.retryTimeout, func() (progressed bool, err error) {
		stream := c.clt.ExportUnstructuredEvents(ctx, &auditlogpb.ExportUnstructuredEventsRequest{
			Date: date, Chunk: chunk, Cursor: cursor,
		})
		defer func() {
			// Done ends the stream (it cancels the call's context) and reports how it ended.
			if done := stream.Done(); err == nil {
				err = done
			}
		}()
		for stream.Next() {
			item := stream.Item()
			if err := yield(toEvent(event.Audit, item.GetEvent()), item.GetCursor()); err != nil {
				return progressed, &stopError{err}
			}
			cursor, progressed = item.GetCursor(), true
		}
		return progressed, nil
	})
}

// utcDate is the UTC midnight of t's UTC date, as the export API takes a day.
func utcDate(t time.Time) *timestamppb.Timestamp {
	y, m, d := t.UTC().Date()
	return timestamppb.New(time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
}
