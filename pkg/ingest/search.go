package ingest

import (
	"github.com/auditpipe/auditpipe/pkg/event"
)

// search reads a search window from its cursor, page by page: fetch (Batch events), filter,
// deliver, commit the next page's cursor. Teleport answers an empty next cursor at the end of
// the range; a window whose end has passed (before that last page was asked for) is then
// done. A window still open (the tail) keeps its position instead: it asks again every
// Timeout from the start of the last, partial page, and skips the events of that page it
// delivered already, until the page fills up or the window's end passes. With
// exit-on-last-event an open window is parked (errPark) once read to the end of what exists.
//
// A cursor Teleport refuses (BadCursor) restarts the window from its start: the stream's dedup
// drops what was published already.
func (wr *windowRead) search() error {
	w := wr.w
	cursor := w.Cursor
	rt := wr.retrier("search")
	var seen map[string]bool // ids of the partial page at cursor, delivered already
	for {
		if err := wr.between(); err != nil {
			return err
		}
		closed := !wr.cfg.now().Before(w.To)
		var next string
		page, err := call(wr.h.fetch, rt, func() ([]event.Event, error) {
			evs, n, err := wr.src.Search(wr.h.fetch, w.From, w.To, wr.filter.types, wr.cfg.Batch, cursor)
			next = n
			return evs, err
		})
		if class, ok := classOf(err); ok && class == BadCursor && cursor != "" {
			wr.log.Warn("teleport refused the cursor; reading the window again from its start", "cursor", cursor, "err", err)
			cursor, seen = "", nil
			continue
		}
		if err != nil {
			return err
		}
		rt.progress()
		keep := make([]event.Event, 0, len(page))
		for i := range page {
			if seen[page[i].ID()] {
				continue
			}
			if wr.keep(&page[i]) {
				keep = append(keep, page[i])
			}
		}
		if err := wr.deliver(keep); err != nil {
			return err
		}
		if next != "" {
			if err := wr.commit(next); err != nil {
				return err
			}
			cursor, seen = next, nil
			continue
		}
		if closed {
			return nil
		}
		seen = make(map[string]bool, len(page))
		for _, ev := range page {
			seen[ev.ID()] = true
		}
		if wr.cfg.ExitOnLastEvent {
			return errPark
		}
		if !sleep(wr.ctx, wr.cfg.Timeout) {
			return errStopping
		}
	}
}
