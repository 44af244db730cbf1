package teleportsrc

import (
	"context"
	"fmt"
	"math"
	"time"

	apidefaults "github.com/gravitational/teleport/api/defaults"
	auditlogpb "github.com/gravitational/teleport/api/gen/proto/go/teleport/auditlog/v1"
	apitypes "github.com/gravitational/teleport/api/types"

	"github.com/auditpipe/auditpipe/pkg/event"
)

// Search reads one page of the audit log: the events with from <= time <= to, oldest first,
// of the given types (all types when empty; Teleport filters), at most limit of them (limit 0
// lets Teleport choose; it caps pages at 10 000 events and about 1 MiB, but serves a larger
// event alone). cursor is "" for the first page, then the next of the previous page; a cursor
// is valid only for the same from, to and types. next is "" once the range is exhausted.
//
// Transient failures are retried (see WithRetryTimeout). A cursor Teleport rejects is
// BadCursor. The events' Kind is event.Audit.
func (c *Client) Search(ctx context.Context, from, to time.Time, types []string, limit int, cursor string) (events []event.Event, next string, err error) {
	if limit < 0 || limit > math.MaxInt32 {
		return nil, "", fmt.Errorf("%w: search limit %d", ErrInvalidArgument, limit)
	}
	var items []*auditlogpb.EventUnstructured
	err = c.retry(ctx, methodSearch, c.retryTimeout, func() (bool, error) {
		var err error
		// The client casts the order to the proto enum and Teleport casts it back: on the wire
		// 0 is ascending, although the enum names 0 ORDER_DESCENDING_UNSPECIFIED.
		items, next, err = c.clt.SearchUnstructuredEvents(ctx, from.UTC(), to.UTC(), apidefaults.Namespace,
			types, limit, apitypes.EventOrderAscending, cursor)
		return false, err
	})
	if err != nil {
		return nil, "", err
	}
	events = make([]event.Event, len(items))
	for i, item := range items {
		events[i] = toEvent(event.Audit, item)
	}
	return events, next, nil
}
