package teleportsim

import (
	"slices"
	"testing"
	"time"
)

// lateUIDs returns the uids of l's late events.
func lateUIDs(l *Log) map[string]bool {
	out := map[string]bool{}
	for _, m := range l.base {
		if m.flags&flagLate != 0 {
			out[l.render(m).UID] = true
		}
	}
	return out
}

// countLate returns how many of evs are late events.
func countLate(evs []Event, late map[string]bool) int {
	n := 0
	for _, ev := range evs {
		if late[ev.UID] {
			n++
		}
	}
	return n
}

func TestLateEventsInSearch(t *testing.T) {
	tests := []struct {
		name  string
		delay time.Duration
		limit int
		steps []time.Duration // clock advances before each later search
		want  []bool          // late events visible at each search (the first one included)
	}{
		{"delayed", time.Minute, 50, []time.Duration{30 * time.Second, 31 * time.Second}, []bool{false, false, true}},
		// With no delay, late events ahead of the cursor show up on the next page already, so
		// the first search is a single page.
		{"no delay still misses the first query", 0, MaxSearchLimit, []time.Duration{0}, []bool{false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock(testTo.Add(time.Hour))
			l := newTestLog(t, Options{Count: 2000, LateEvents: 30, LateDelay: tt.delay, Now: clock.Now})
			late := lateUIDs(l)
			if len(late) != 30 {
				t.Fatalf("%d late events, want 30", len(late))
			}
			q := SearchQuery{From: testFrom, To: testTo, Limit: tt.limit}
			for i, visible := range tt.want {
				if i > 0 {
					clock.Advance(tt.steps[i-1])
				}
				got := searchAll(t, l, q)
				if n := countLate(got, late); visible && n != 30 || !visible && n != 0 {
					t.Fatalf("search %d: %d late events, want visible=%v", i, n, visible)
				}
				if visible {
					sameEvents(t, got, wantSearch(auditEvents(t, l), q))
				} else if len(got) != l.Len()-30 {
					t.Fatalf("search %d: %d events, want %d", i, len(got), l.Len()-30)
				}
			}
		})
	}
}

func TestLateEventsOnlyTriggeredByCoveringQueries(t *testing.T) {
	clock := newFakeClock(testTo.Add(time.Hour))
	l := newTestLog(t, Options{Count: 2000, LateEvents: 40, LateDelay: time.Minute, Now: clock.Now})
	late := lateUIDs(l)
	day1 := SearchQuery{From: testFrom, To: testFrom.Add(24*time.Hour - 1)}
	searchAll(t, l, day1) // starts the delay of day 1's late events only
	clock.Advance(time.Minute)
	all := searchAll(t, l, SearchQuery{From: testFrom, To: testTo})
	for _, ev := range all {
		if late[ev.UID] && !ev.Time.Before(day1.To.Add(1)) {
			t.Fatalf("late event of %v visible before a query covered it", ev.Time)
		}
	}
	if countLate(all, late) == 0 {
		t.Fatal("no late event of day 1 became visible")
	}
}

func TestLateEventsInExport(t *testing.T) {
	clock := newFakeClock(testTo.Add(time.Hour))
	l := newTestLog(t, Options{Count: 2000, LateEvents: 30, LateDelay: time.Minute, ChunkSize: 100, Now: clock.Now})
	late := lateUIDs(l)
	first := exportAll(t, l, testFrom, testTo, false)
	if n := countLate(first, late); n != 0 {
		t.Fatalf("first export holds %d late events", n)
	}
	var before [][]string
	for _, day := range exportDays(testFrom, testTo) {
		names, _ := l.ExportChunks(day)
		before = append(before, names)
	}
	clock.Advance(61 * time.Second)
	for i, day := range exportDays(testFrom, testTo) {
		names, _ := l.ExportChunks(day)
		for _, name := range before[i] {
			if !slices.Contains(names, name) {
				t.Fatalf("chunk %s disappeared", name)
			}
		}
	}
	sameSet(t, exportAll(t, l, testFrom, testTo, false), auditEvents(t, l))
	inManifest := 0
	l.Manifest(func(e ManifestEntry) bool {
		if e.Kind == KindAudit && late[e.UID] {
			inManifest++
		}
		return true
	})
	if inManifest != 30 {
		t.Fatalf("manifest lists %d late events, want 30", inManifest)
	}
}

func TestLateChunkHiddenUntilVisible(t *testing.T) {
	clock := newFakeClock(testTo.Add(time.Hour))
	l := newTestLog(t, Options{Count: 2000, LateEvents: 30, LateDelay: time.Minute, Now: clock.Now})
	dc := l.dayChunks(testFrom.Unix() / secondsPerDay)
	i := slices.IndexFunc(dc.chunks, func(c chunk) bool { return c.late })
	if i < 0 {
		t.Fatal("day 1 has no late chunk")
	}
	name := dc.chunks[i].name
	nop := func(Event, string) error { return nil }
	if err := l.ExportChunk(testFrom, name, "", nop); err == nil {
		t.Fatal("late chunk readable before it was listed")
	}
	if _, err := l.ExportChunks(testFrom); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if err := l.ExportChunk(testFrom, name, "", nop); err != nil {
		t.Fatalf("late chunk after the delay: %v", err)
	}
}
