package teleportsim

import (
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"
)

var errStopRead = errors.New("stop reading")

// exportDays returns the UTC days of [from, to).
func exportDays(from, to time.Time) []time.Time {
	var days []time.Time
	for d := from.Truncate(24 * time.Hour); d.Before(to); d = d.Add(24 * time.Hour) {
		days = append(days, d)
	}
	return days
}

// exportAll reads every listed chunk of the days of [from, to). With resume, it reads each chunk
// again in two parts, stopping after half the chunk and resuming from the cursor of the last
// event read, and checks both reads agree.
func exportAll(t testing.TB, l *Log, from, to time.Time, resume bool) []Event {
	t.Helper()
	var out []Event
	for _, day := range exportDays(from, to) {
		names, err := l.ExportChunks(day)
		if err != nil {
			t.Fatalf("ExportChunks(%v): %v", day, err)
		}
		for _, name := range names {
			if resume {
				out = append(out, readChunk(t, l, day, name)...)
				continue
			}
			if err := l.ExportChunk(day, name, "", func(ev Event, _ string) error {
				out = append(out, ev)
				return nil
			}); err != nil {
				t.Fatalf("ExportChunk(%v, %s): %v", day, name, err)
			}
		}
	}
	return out
}

// readChunk reads one chunk in two calls, resuming from a cursor midway.
func readChunk(t testing.TB, l *Log, day time.Time, name string) []Event {
	t.Helper()
	var all []Event
	if err := l.ExportChunk(day, name, "", func(ev Event, _ string) error {
		all = append(all, ev)
		return nil
	}); err != nil {
		t.Fatalf("ExportChunk(%v, %s): %v", day, name, err)
	}
	half := len(all) / 2
	var got []Event
	var cursor string
	err := l.ExportChunk(day, name, "", func(ev Event, c string) error {
		if len(got) == half {
			return errStopRead
		}
		got, cursor = append(got, ev), c
		return nil
	})
	if len(all) > half && !errors.Is(err, errStopRead) || len(all) == half && err != nil {
		t.Fatalf("ExportChunk stopped with %v, want the yield error", err)
	}
	if err := l.ExportChunk(day, name, cursor, func(ev Event, _ string) error {
		got = append(got, ev)
		return nil
	}); err != nil {
		t.Fatalf("ExportChunk from cursor %q: %v", cursor, err)
	}
	if len(got) != len(all) {
		t.Fatalf("resumed read of %s: %d events, whole read %d", name, len(got), len(all))
	}
	for i := range got {
		if string(got[i].JSON) != string(all[i].JSON) {
			t.Fatalf("resumed read of %s differs at %d", name, i)
		}
	}
	return got
}

// sameSet fails unless got holds want's events exactly once each, in any order.
func sameSet(t testing.TB, got, want []Event) {
	t.Helper()
	count := map[string]int{}
	for _, ev := range want {
		count[hashOf(ev.JSON)]++
	}
	for _, ev := range got {
		h := hashOf(ev.JSON)
		if count[h] == 0 {
			t.Fatalf("unexpected or repeated %s %s at %v", ev.Type, ev.UID, ev.Time)
		}
		count[h]--
	}
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d", len(got), len(want))
	}
}

func TestExportReadsEveryEventOnce(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"small chunks", Options{Count: 3000, ChunkSize: 97}},
		{"one chunk a day", Options{Count: 3000}},
		{"boundaries and identical times", Options{Count: 3000, ChunkSize: 50, DayBoundaries: true, IdenticalTimestamps: 20}},
		{"single-event chunks", Options{Count: 3000, ChunkSize: 200, SingleEventChunks: true}},
		{"chunk size 1", Options{Count: 300, ChunkSize: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newTestLog(t, tt.opts)
			sameSet(t, exportAll(t, l, testFrom, testTo, true), auditEvents(t, l))
		})
	}
}

func TestExportChunksAreNotTimeOrdered(t *testing.T) {
	l := newTestLog(t, Options{Count: 3000, ChunkSize: 100})
	day := testFrom
	names, err := l.ExportChunks(day)
	if err != nil || len(names) < 2 {
		t.Fatalf("%d chunks, err %v", len(names), err)
	}
	var times []time.Time
	for _, name := range names {
		for _, ev := range readChunk(t, l, day, name) {
			times = append(times, ev.Time)
		}
	}
	if slices.IsSortedFunc(times, time.Time.Compare) {
		t.Fatal("the chunks of a day hold its events in global time order")
	}
	again, _ := l.ExportChunks(day)
	if !slices.Equal(names, again) {
		t.Fatal("chunk list changed between calls")
	}
}

func TestExportSingleEventChunks(t *testing.T) {
	l := newTestLog(t, Options{Count: 3000, SingleEventChunks: true})
	uploads := 0
	for _, day := range exportDays(testFrom, testTo) {
		names, err := l.ExportChunks(day)
		if err != nil {
			t.Fatal(err)
		}
		single := 0
		for _, name := range names {
			if evs := readChunk(t, l, day, name); len(evs) == 1 {
				single++
				if evs[0].Type == "session.upload" {
					uploads++
				}
			}
		}
		if single != 1 {
			t.Fatalf("%v: %d single-event chunks, want 1", day, single)
		}
	}
	if uploads == 0 {
		t.Fatal("no single-event chunk holds a session.upload")
	}
	plain := newTestLog(t, Options{Count: 3000})
	names, _ := plain.ExportChunks(testFrom)
	if len(names) != 1 {
		t.Fatalf("switch off: %d chunks, want 1", len(names))
	}
}

func TestExportErrors(t *testing.T) {
	l := newTestLog(t, Options{Count: 500, ChunkSize: 50})
	names, err := l.ExportChunks(testFrom)
	if err != nil || len(names) == 0 {
		t.Fatalf("ExportChunks: %v %v", names, err)
	}
	n := len(readChunk(t, l, testFrom, names[0]))
	nop := func(Event, string) error { return nil }
	tests := []struct {
		name    string
		day     time.Time
		chunk   string
		cursor  string
		wantErr error
	}{
		{"valid", testFrom, names[0], "a1:1", nil},
		{"cursor at end", testFrom, names[0], "a1:" + itoa(n), nil},
		{"cursor past end", testFrom, names[0], "a1:" + itoa(n+1), ErrBadCursor},
		{"negative cursor", testFrom, names[0], "a1:-1", ErrBadCursor},
		{"malformed cursor", testFrom, names[0], "b2:1", ErrBadCursor},
		{"garbage cursor", testFrom, names[0], "a1:x", ErrBadCursor},
		{"unknown chunk", testFrom, "no-such-chunk", "", ErrNotFound},
		{"chunk of another day", testFrom.Add(24 * time.Hour), names[0], "", ErrNotFound},
		{"not a midnight", testFrom.Add(time.Hour), names[0], "", ErrBadRequest},
		{"midnight in another zone", testFrom.In(time.FixedZone("X", 3600)), names[0], "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := l.ExportChunk(tt.day, tt.chunk, tt.cursor, nop); !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
		})
	}
	if _, err := l.ExportChunks(testFrom.Add(time.Nanosecond)); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("ExportChunks off midnight: %v", err)
	}
	if names, err := l.ExportChunks(testFrom.Add(-48 * time.Hour)); err != nil || len(names) != 0 {
		t.Fatalf("day without events: %v %v", names, err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
