package ingest

import (
	"slices"
	"time"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/window"
)

// sessionUpload is the audit event that says a recording is ready to be streamed.
const sessionUpload = "session.upload"

// filter is the engine's event filters: types, skip-event-types and skip-session-types. It is
// immutable and safe for concurrent use.
type filter struct {
	types        []string // sorted; empty: every type
	skipAudit    map[string]bool
	skipSessions map[string]bool
}

func newFilter(c Config) filter {
	return filter{types: sortedSet(c.Types), skipAudit: set(c.SkipEventTypes), skipSessions: set(c.SkipSessionTypes)}
}

// session reports whether a recording event of type typ is exported.
func (f filter) session(typ string) bool { return !f.skipSessions[typ] }

// auditFilter is the filter of one window: the configured filters, the window's own types (a
// replay may restrict them) and its bounds.
type auditFilter struct {
	// types is the allow-list (sorted; nil: every type), the intersection of the configured and
	// the window's; none is set when that intersection is empty, so nothing can pass.
	types []string
	none  bool
	skip  map[string]bool
	// from and to bound the event times kept: from <= time < to (zero: unbounded). Times the
	// body does not give (zero) are kept.
	from, to time.Time
}

// window returns the filter of w. Search windows keep events of [From, To): the query is
// inclusive of To, and an event at exactly To belongs to the next window. Export windows keep
// the events from the epoch's start on (epochStart, zero when unknown): the first day's chunks
// hold events before it.
func (f filter) window(w window.Window, epochStart time.Time) auditFilter {
	af := auditFilter{types: f.types, skip: f.skipAudit}
	if wt := sortedSet(w.Types); len(wt) > 0 {
		if len(af.types) == 0 {
			af.types = wt
		} else {
			af.types = slices.DeleteFunc(slices.Clone(af.types), func(t string) bool {
				_, found := slices.BinarySearch(wt, t)
				return !found
			})
			af.none = len(af.types) == 0
		}
	}
	switch w.Kind {
	case window.KindSearch:
		af.from, af.to = w.From, w.To
	case window.KindExport:
		af.from = epochStart
	}
	return af
}

// keep reports whether an audit event passes the filter.
func (af auditFilter) keep(ev event.Event) bool {
	if af.none || af.skip[ev.Type] {
		return false
	}
	if len(af.types) > 0 {
		if _, ok := slices.BinarySearch(af.types, ev.Type); !ok {
			return false
		}
	}
	if !ev.Time.IsZero() {
		if !af.from.IsZero() && ev.Time.Before(af.from) {
			return false
		}
		if !af.to.IsZero() && !ev.Time.Before(af.to) {
			return false
		}
	}
	return true
}

func set(items []string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, it := range items {
		m[it] = true
	}
	return m
}

func sortedSet(items []string) []string {
	if len(items) == 0 {
		return nil
	}
	s := slices.Clone(items)
	slices.Sort(s)
	return slices.Compact(s)
}
