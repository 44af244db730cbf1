package teleportsrc_test

import (
	"context"
	"testing"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/teleportsim"
	"github.com/auditpipe/auditpipe/pkg/teleportsrc"
)

// auditEvents returns the Log's audit events by uid, read in process, and checks that the
// manifest lists the same ones.
func auditEvents(t testing.TB, l *teleportsim.Log) map[string]teleportsim.Event {
	t.Helper()
	want := map[string]teleportsim.Event{}
	q := teleportsim.SearchQuery{From: simFrom, To: simTo, Limit: teleportsim.MaxSearchLimit}
	for {
		page, next, err := l.Search(q)
		if err != nil {
			t.Fatalf("Log.Search: %v", err)
		}
		for _, ev := range page {
			if ev.UID == "" {
				t.Fatalf("audit event %s without uid", ev.Type)
			}
			want[ev.UID] = ev
		}
		if next == "" {
			break
		}
		q.StartKey = next
	}
	n := 0
	l.Manifest(func(e teleportsim.ManifestEntry) bool {
		if e.Kind == teleportsim.KindAudit {
			n++
			if _, ok := want[e.UID]; !ok {
				t.Fatalf("manifest event %s %s not found by Log.Search", e.Type, e.UID)
			}
		}
		return true
	})
	if n != len(want) {
		t.Fatalf("manifest lists %d audit events, Log.Search finds %d", n, len(want))
	}
	return want
}

// checkEvent checks that ev, read through the Client, is the Log's event want.
func checkEvent(t testing.TB, kind event.Kind, ev event.Event, want teleportsim.Event) {
	t.Helper()
	if ev.Kind != kind || ev.Type != want.Type || ev.UID != want.UID || !ev.Time.Equal(want.Time) ||
		ev.Index != want.Index || ev.SessionID != want.SessionID {
		t.Fatalf("event %+v, want type %s uid %s time %v ei %d sid %s", ev, want.Type, want.UID, want.Time, want.Index, want.SessionID)
	}
	if !sameJSON(t, ev.Body, want.JSON) {
		t.Fatalf("body of %s %s differs:\ngot  %s\nwant %s", ev.Type, ev.UID, ev.Body, want.JSON)
	}
}

// TestSearchReadsEveryAuditEventOnce pages through a multi-day log whose events share
// timestamps, straddle midnights, carry non-ASCII text and include events of hundreds of KiB
// and one over 1 MiB: every audit event arrives once, in time order, with its JSON intact.
func TestSearchReadsEveryAuditEventOnce(t *testing.T) {
	l := simLog(t, 3000, teleportsim.Options{IdenticalTimestamps: 30, DayBoundaries: true, Unicode: true, LargeEvents: 2, HugeEvents: 1})
	want := auditEvents(t, l)
	s := startSim(t, teleportsim.ServerConfig{Log: l})
	c := newClient(t, identityConfig(s, false))

	seen := map[string]bool{}
	var last event.Event
	cursor, pages := "", 0
	for {
		page, next, err := c.Search(context.Background(), simFrom, simTo, nil, 500, cursor)
		if err != nil {
			t.Fatalf("Search page %d: %v", pages, err)
		}
		pages++
		for _, ev := range page {
			if seen[ev.UID] {
				t.Fatalf("event %s %s read twice", ev.Type, ev.UID)
			}
			seen[ev.UID] = true
			if ev.Time.Before(last.Time) {
				t.Fatalf("event %s at %v after %s at %v: not ascending", ev.UID, ev.Time, last.UID, last.Time)
			}
			last = ev
			w, ok := want[ev.UID]
			if !ok {
				t.Fatalf("event %s %s is not in the log", ev.Type, ev.UID)
			}
			checkEvent(t, event.Audit, ev, w)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != len(want) {
		t.Fatalf("read %d events in %d pages, the log has %d", len(seen), pages, len(want))
	}
	if pages < 6 {
		t.Fatalf("read in %d pages: paging not exercised", pages)
	}
}

// TestSearchFiltersTypes passes the type allow-list to Teleport.
func TestSearchFiltersTypes(t *testing.T) {
	l := simLog(t, 500, teleportsim.Options{})
	s := startSim(t, teleportsim.ServerConfig{Log: l})
	c := newClient(t, identityConfig(s, false))
	page, _, err := c.Search(context.Background(), simFrom, simTo, []string{"user.login"}, 1000, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page) == 0 {
		t.Fatal("no user.login event")
	}
	for _, ev := range page {
		if ev.Type != "user.login" {
			t.Fatalf("event of type %s with types = [user.login]", ev.Type)
		}
	}
}

// TestSearchPageOverDefaultMessageSize reads one page of more than gRPC's default 4 MiB
// receive limit.
func TestSearchPageOverDefaultMessageSize(t *testing.T) {
	l := simLog(t, 100, teleportsim.Options{LargeEvents: 30, PageBytes: 64 << 20})
	s := startSim(t, teleportsim.ServerConfig{Log: l})
	c := newClient(t, identityConfig(s, false))
	page, next, err := c.Search(context.Background(), simFrom, simTo, nil, teleportsim.MaxSearchLimit, "")
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	size := 0
	for _, ev := range page {
		size += len(ev.Body)
	}
	if len(page) != l.Len() || next != "" {
		t.Fatalf("one page of %d events (next %q), want all %d", len(page), next, l.Len())
	}
	if size <= 4<<20 {
		t.Fatalf("page of %d bytes: not over 4 MiB", size)
	}
}

// TestSearchRejects shows how bad queries are classified.
func TestSearchRejects(t *testing.T) {
	s := startSim(t, teleportsim.ServerConfig{Log: simLog(t, 50, teleportsim.Options{})})
	c := newClient(t, identityConfig(s, false))
	ctx := context.Background()

	_, _, err := c.Search(ctx, simFrom, simTo, nil, 10, "not-a-cursor")
	if got := teleportsrc.Classify(err); got != teleportsrc.BadCursor {
		t.Errorf("Search with a bad cursor: %v classified %v, want BadCursor", err, got)
	}
	_, _, err = c.Search(ctx, simFrom, simTo, nil, -1, "")
	if got := teleportsrc.Classify(err); got != teleportsrc.Fatal {
		t.Errorf("Search with limit -1: %v classified %v, want Fatal", err, got)
	}
}
