package teleportsim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// entryKey identifies a manifest entry: audit events by uid, session events by sid and index.
func entryKey(kind Kind, uid, sid string, ei int64) string {
	if kind == KindSession {
		return fmt.Sprintf("session/%s/%d", sid, ei)
	}
	return "audit/" + uid
}

// TestManifestMatchesServedEvents proves that what Search, Export and SessionEvents serve is
// exactly what the manifest lists: every entry arrives once, with the manifest's hash.
func TestManifestMatchesServedEvents(t *testing.T) {
	t.Parallel() // CPU only, on a Log of its own: runs beside the others on a second core
	clock := newFakeClock(testTo.Add(time.Hour))
	o := allSwitches(Options{Count: 4000, ChunkSize: 300, Now: clock.Now})
	l := newTestLog(t, o)
	want := map[string]ManifestEntry{}
	audit, session := 0, 0
	for _, e := range manifest(l) {
		k := entryKey(e.Kind, e.UID, e.SessionID, e.Index)
		if _, dup := want[k]; dup {
			t.Fatalf("manifest lists %s twice", k)
		}
		want[k] = e
		if e.Kind == KindAudit {
			audit++
		} else {
			session++
		}
	}
	if audit != l.Len() {
		t.Fatalf("manifest lists %d audit events, Len is %d", audit, l.Len())
	}
	check := func(path string, evs []Event, wantCount int) {
		t.Helper()
		seen := map[string]bool{}
		for _, ev := range evs {
			k := entryKey(ev.Kind, ev.UID, ev.SessionID, ev.Index)
			e, ok := want[k]
			if !ok || seen[k] {
				t.Fatalf("%s: %s unlisted or repeated", path, k)
			}
			seen[k] = true
			if e.SHA256 != hashOf(ev.JSON) || e.Type != ev.Type || !e.Time.Equal(ev.Time) {
				t.Fatalf("%s: %s differs from the manifest", path, k)
			}
		}
		if len(seen) != wantCount {
			t.Fatalf("%s: %d events, manifest has %d", path, len(seen), wantCount)
		}
	}

	// Let the late events and the recordings become available, then read everything.
	searchAll(t, l, SearchQuery{From: testFrom, To: testTo})
	exportAll(t, l, testFrom, testTo, false)
	var recordings []Event
	var sids []string
	for _, ev := range auditEvents(t, l) {
		if ev.Type == "session.upload" {
			sids = append(sids, ev.SessionID)
			_, _ = readRecording(t, l, ev.SessionID, 0) // starts the recording delays
		}
	}
	clock.Advance(2 * time.Minute)
	check("search", searchAll(t, l, SearchQuery{From: testFrom, To: testTo, Limit: 333}), audit)
	check("export", exportAll(t, l, testFrom, testTo, false), audit)
	for _, sid := range sids {
		rec, err := readRecording(t, l, sid, 0)
		if err != nil {
			t.Fatalf("SessionEvents(%s): %v", sid, err)
		}
		recordings = append(recordings, rec...)
	}
	check("session events", recordings, session)

	// WriteManifest writes the same entries as JSON lines.
	var buf bytes.Buffer
	if err := l.WriteManifest(&buf); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 1<<20)
	lines := 0
	for sc.Scan() {
		var e ManifestEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %d: %v", lines, err)
		}
		if w := want[entryKey(e.Kind, e.UID, e.SessionID, e.Index)]; w.SHA256 != e.SHA256 || !w.Time.Equal(e.Time) {
			t.Fatalf("line %d: %+v, manifest %+v", lines, e, w)
		}
		lines++
	}
	if lines != audit+session {
		t.Fatalf("%d lines, want %d", lines, audit+session)
	}
}

func TestManifestStopsWhenAsked(t *testing.T) {
	l := newTestLog(t, Options{Count: 100})
	n := 0
	l.Manifest(func(ManifestEntry) bool {
		n++
		return n < 5
	})
	if n != 5 {
		t.Fatalf("yield called %d times after returning false", n)
	}
}
