package teleportsim

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// searchAll pages through q until lastKey is empty and returns every event, failing the test
// on an error or a page that breaks the limit.
func searchAll(t testing.TB, l *Log, q SearchQuery) []Event {
	t.Helper()
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultSearchLimit
	}
	var out []Event
	for pages := 0; ; pages++ {
		if pages > 1_000_000 {
			t.Fatal("search does not end")
		}
		page, last, err := l.Search(q)
		if err != nil {
			t.Fatalf("Search(%+v): %v", q, err)
		}
		if len(page) > limit {
			t.Fatalf("page of %d events, limit %d", len(page), limit)
		}
		out = append(out, page...)
		if last == "" {
			return out
		}
		q.StartKey = last
	}
}

// wantSearch returns the events of all (audit events in time order, all visible) that a search
// must return: those in range with an allowed type, in order.
func wantSearch(all []Event, q SearchQuery) []Event {
	var out []Event
	for _, ev := range all {
		m := ev.Time
		if m.Before(q.From) || m.After(q.To) || (len(q.Types) > 0 && !slices.Contains(q.Types, ev.Type)) {
			continue
		}
		out = append(out, ev)
	}
	if q.Order == Descending {
		slices.Reverse(out)
	}
	return out
}

// sameEvents fails unless got and want hold the same events in the same order.
func sameEvents(t testing.TB, got, want []Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d", len(got), len(want))
	}
	seen := map[string]bool{}
	for i := range got {
		if string(got[i].JSON) != string(want[i].JSON) {
			t.Fatalf("event %d: got %s %s at %v, want %s %s at %v", i, got[i].Type, got[i].UID, got[i].Time, want[i].Type, want[i].UID, want[i].Time)
		}
		if seen[got[i].UID] {
			t.Fatalf("uid %s twice", got[i].UID)
		}
		seen[got[i].UID] = true
	}
}

func TestSearchPaging(t *testing.T) {
	t.Parallel() // CPU only, on a Log of its own: runs beside the others on a second core
	l := newTestLog(t, Options{Count: 4000, IdenticalTimestamps: 37, DayBoundaries: true, HugeEvents: 1, LargeEvents: 2})
	all := auditEvents(t, l)
	day2 := testFrom.Add(24 * time.Hour)
	tests := []struct {
		name        string
		given       SearchQuery
		wantAtLeast int
	}{
		{"ascending limit 7", SearchQuery{From: testFrom, To: testTo, Limit: 7}, 0},
		{"descending limit 7", SearchQuery{From: testFrom, To: testTo, Limit: 7, Order: Descending}, 0},
		{"ascending limit 1", SearchQuery{From: testFrom, To: testTo, Limit: 1}, 0},
		{"descending limit 2", SearchQuery{From: testFrom, To: testTo, Limit: 2, Order: Descending}, 0},
		{"default limit", SearchQuery{From: testFrom, To: testTo}, 0},
		{"max limit", SearchQuery{From: testFrom, To: testTo, Limit: MaxSearchLimit}, 0},
		{"type filter", SearchQuery{From: testFrom, To: testTo, Limit: 5, Types: []string{"session.upload", "user.login"}}, 0},
		{"type filter descending", SearchQuery{From: testFrom, To: testTo, Limit: 3, Types: []string{"exec"}, Order: Descending}, 0},
		{"unknown type", SearchQuery{From: testFrom, To: testTo, Types: []string{"nope"}}, 0},
		{"across a day boundary", SearchQuery{From: day2.Add(-time.Hour), To: day2.Add(time.Hour), Limit: 4}, 0},
		{"exactly one day", SearchQuery{From: day2, To: day2.Add(24*time.Hour - 1), Limit: 9}, 0},
		{"just the midnight", SearchQuery{From: day2, To: day2, Limit: 1}, 2},
		{"last nanosecond of a day", SearchQuery{From: day2.Add(-1), To: day2.Add(-1), Limit: 1, Order: Descending}, 2},
		{"empty range", SearchQuery{From: testTo.Add(time.Hour), To: testTo.Add(2 * time.Hour)}, 0},
		{"zero From", SearchQuery{To: testTo, Limit: 100}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := searchAll(t, l, tt.given)
			sameEvents(t, got, wantSearch(all, tt.given))
			if len(got) < tt.wantAtLeast {
				t.Fatalf("%d events, want at least %d", len(got), tt.wantAtLeast)
			}
		})
	}
}

func TestSearchIdenticalTimestamps(t *testing.T) {
	l := newTestLog(t, Options{Count: 2000, IdenticalTimestamps: 50})
	// Find one run and page through exactly its timestamp with pages that split it.
	counts := map[time.Time]int{}
	all := auditEvents(t, l)
	for _, ev := range all {
		counts[ev.Time]++
	}
	var run time.Time
	for ts, n := range counts {
		if n >= 50 {
			run = ts
		}
	}
	if run.IsZero() {
		t.Fatal("no run of 50 identical timestamps")
	}
	for _, order := range []Order{Ascending, Descending} {
		for _, limit := range []int{1, 3, 7, 49, 50, 51} {
			q := SearchQuery{From: run, To: run, Limit: limit, Order: order}
			got := searchAll(t, l, q)
			if len(got) < 50 {
				t.Fatalf("order %d limit %d: %d events, want >= 50", order, limit, len(got))
			}
			sameEvents(t, got, wantSearch(all, q))
		}
	}
}

func TestSearchHugeEventIsServedAlone(t *testing.T) {
	l := newTestLog(t, Options{Count: 500, HugeEvents: 2, LargeEvents: 6})
	q := SearchQuery{From: testFrom, To: testTo, Limit: 100}
	huge := 0
	for {
		page, last, err := l.Search(q)
		if err != nil {
			t.Fatal(err)
		}
		size := 0
		for _, ev := range page {
			size += len(ev.JSON)
			if len(ev.JSON) > 1<<20 {
				huge++
				if len(page) != 1 {
					t.Fatalf("huge event (%d bytes) shares a page of %d", len(ev.JSON), len(page))
				}
			}
		}
		if len(page) > 1 && size > MaxPageBytes {
			t.Fatalf("page of %d bytes", size)
		}
		if last == "" {
			break
		}
		q.StartKey = last
	}
	if huge != 2 {
		t.Fatalf("saw %d huge events, want 2", huge)
	}
}

func TestSearchErrors(t *testing.T) {
	l := newTestLog(t, Options{Count: 200})
	base := SearchQuery{From: testFrom, To: testTo, Limit: 5}
	_, key, err := l.Search(base)
	if err != nil || key == "" {
		t.Fatalf("first page: key %q, err %v", key, err)
	}
	tamper := []byte(key)
	tamper[3] ^= 1
	tests := []struct {
		name    string
		mutate  func(*SearchQuery)
		wantErr error
	}{
		{"same query", func(q *SearchQuery) {}, nil},
		{"other limit", func(q *SearchQuery) { q.Limit = 9 }, nil},
		{"garbage key", func(q *SearchQuery) { q.StartKey = "not a key!" }, ErrBadCursor},
		{"tampered key", func(q *SearchQuery) { q.StartKey = string(tamper) }, ErrBadCursor},
		{"other To", func(q *SearchQuery) { q.To = q.To.Add(time.Second) }, ErrBadCursor},
		{"other types", func(q *SearchQuery) { q.Types = []string{"exec"} }, ErrBadCursor},
		{"other order", func(q *SearchQuery) { q.Order = Descending }, ErrBadCursor},
		{"From after To", func(q *SearchQuery) { q.From = q.To.Add(time.Second) }, ErrBadRequest},
		{"limit over max", func(q *SearchQuery) { q.Limit = MaxSearchLimit + 1 }, ErrBadRequest},
		{"unknown order", func(q *SearchQuery) { q.Order = 2 }, ErrBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := base
			q.StartKey = key
			tt.mutate(&q)
			if _, _, err := l.Search(q); !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
		})
	}
	other := newTestLog(t, Options{Count: 200, Seed: 99})
	q := base
	q.StartKey = key
	if _, _, err := other.Search(q); !errors.Is(err, ErrBadCursor) {
		t.Fatalf("key of another log: %v", err)
	}
}

func TestSearchDefaultLimitAndTrailingPage(t *testing.T) {
	l := newTestLog(t, Options{Count: 1000, Mix: map[string]int{"exec": 1}})
	page, last, err := l.Search(SearchQuery{From: testFrom, To: testTo})
	if err != nil || len(page) != DefaultSearchLimit || last == "" {
		t.Fatalf("default page: %d events, key %q, err %v", len(page), last, err)
	}
	page, last, _ = l.Search(SearchQuery{From: testFrom, To: testTo, StartKey: last})
	if len(page) != 500 || last == "" {
		t.Fatalf("second page: %d events, key %q; a full page keeps a key as Teleport's backends do", len(page), last)
	}
	page, last, _ = l.Search(SearchQuery{From: testFrom, To: testTo, StartKey: last})
	if len(page) != 0 || last != "" {
		t.Fatalf("trailing page: %d events, key %q", len(page), last)
	}
}
