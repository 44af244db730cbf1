package teleportsim

import (
	"errors"
	"testing"
	"time"
)

// readRecording returns the events SessionEvents yields for sid from index.
func readRecording(t testing.TB, l *Log, sid string, from int64) ([]Event, error) {
	t.Helper()
	var out []Event
	err := l.SessionEvents(sid, from, func(ev Event) error {
		out = append(out, ev)
		return nil
	})
	return out, err
}

// checkRecordings checks every uploaded session of audit against its recording.
func checkRecordings(t *testing.T, l *Log, audit []Event) int {
	t.Helper()
	byUID := map[string]Event{}
	bySID := map[string][]Event{}
	for _, ev := range audit {
		byUID[ev.UID] = ev
		if ev.SessionID != "" {
			bySID[ev.SessionID] = append(bySID[ev.SessionID], ev)
		}
	}
	n := 0
	for _, up := range audit {
		if up.Type != "session.upload" {
			continue
		}
		n++
		rec, err := readRecording(t, l, up.SessionID, 0)
		if err != nil {
			t.Fatalf("SessionEvents(%s): %v", up.SessionID, err)
		}
		if len(rec) < 3 || rec[0].Type != "session.start" || rec[1].Type != "resize" || rec[len(rec)-1].Type != "session.end" {
			t.Fatalf("recording %s: %d events, first %s, last %s", up.SessionID, len(rec), rec[0].Type, rec[len(rec)-1].Type)
		}
		repeated := 0
		for i, ev := range rec {
			if ev.Index != int64(i) || ev.Kind != KindSession || ev.SessionID != up.SessionID {
				t.Fatalf("recording %s event %d: %+v", up.SessionID, i, ev)
			}
			if i > 0 && ev.Time.Before(rec[i-1].Time) {
				t.Fatalf("recording %s goes back in time at %d", up.SessionID, i)
			}
			if ev.Time.After(up.Time) {
				t.Fatalf("recording %s has an event after its upload", up.SessionID)
			}
			switch ev.Type {
			case "print", "resize":
				if ev.UID != "" {
					t.Fatalf("%s with uid %s", ev.Type, ev.UID)
				}
			default:
				a, ok := byUID[ev.UID]
				if !ok || string(a.JSON) != string(ev.JSON) || a.Kind != KindAudit {
					t.Fatalf("recording %s: %s %s is not a copy of an audit event", up.SessionID, ev.Type, ev.UID)
				}
				repeated++
			}
		}
		// The audit events of the session: start < joins < leaves < end <= data < upload.
		var start, end time.Time
		var joins, leaves []time.Time
		for _, ev := range bySID[up.SessionID] {
			switch ev.Type {
			case "session.start":
				start = ev.Time
			case "session.end":
				end = ev.Time
			case "session.join":
				joins = append(joins, ev.Time)
			case "session.leave":
				leaves = append(leaves, ev.Time)
			}
		}
		if repeated != 2+len(joins)+len(leaves) {
			t.Fatalf("recording %s repeats %d audit events, want %d", up.SessionID, repeated, 2+len(joins)+len(leaves))
		}
		for i := range joins {
			if !start.Before(joins[i]) || !joins[i].Before(leaves[i]) || !leaves[i].Before(end) {
				t.Fatalf("session %s: start %v join %v leave %v end %v", up.SessionID, start, joins[i], leaves[i], end)
			}
		}
		if !start.Before(end) || !end.Before(up.Time) {
			t.Fatalf("session %s: start %v end %v upload %v", up.SessionID, start, end, up.Time)
		}
		// From an index: the tail.
		k := int64(len(rec) / 2)
		tail, err := readRecording(t, l, up.SessionID, k)
		if err != nil || len(tail) != len(rec)-int(k) || string(tail[0].JSON) != string(rec[k].JSON) {
			t.Fatalf("from index %d: %d events, err %v", k, len(tail), err)
		}
	}
	return n
}

func TestSessionRecordings(t *testing.T) {
	l := newTestLog(t, Options{Count: 3000, Unicode: true})
	if n := checkRecordings(t, l, auditEvents(t, l)); n < 50 {
		t.Fatalf("only %d sessions", n)
	}
	stop := errors.New("stop")
	var sid string
	for _, ev := range auditEvents(t, l) {
		if ev.Type == "session.upload" {
			sid = ev.SessionID
			break
		}
	}
	tests := []struct {
		name    string
		sid     string
		from    int64
		yield   func(Event) error
		wantErr error
	}{
		{"ok", sid, 0, func(Event) error { return nil }, nil},
		{"past the end", sid, 1 << 40, func(Event) error { return errors.New("nothing expected") }, nil},
		{"yield error", sid, 0, func(Event) error { return stop }, stop},
		{"unknown session", "00000000-0000-4000-8000-000000000000", 0, func(Event) error { return nil }, ErrNotFound},
		{"audit sid without a recording", "", 0, func(Event) error { return nil }, ErrNotFound},
		{"negative index", sid, -1, func(Event) error { return nil }, ErrBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := l.SessionEvents(tt.sid, tt.from, tt.yield); !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestRecordingsMissingAtFirst(t *testing.T) {
	clock := newFakeClock(testTo.Add(time.Hour))
	l := newTestLog(t, Options{Count: 2000, RecordingDelay: time.Minute, Now: clock.Now})
	var sids []string
	for _, ev := range auditEvents(t, l) {
		if ev.Type == "session.upload" {
			sids = append(sids, ev.SessionID)
		}
	}
	for _, sid := range sids[:3] {
		if _, err := readRecording(t, l, sid, 0); !errors.Is(err, ErrNotFound) {
			t.Fatalf("first request: %v, want ErrNotFound", err)
		}
	}
	clock.Advance(59 * time.Second)
	if _, err := readRecording(t, l, sids[0], 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("before the delay: %v", err)
	}
	if _, err := readRecording(t, l, sids[3], 0); !errors.Is(err, ErrNotFound) {
		t.Fatal("a session requested later must wait its own delay")
	}
	clock.Advance(time.Second)
	if rec, err := readRecording(t, l, sids[0], 0); err != nil || len(rec) == 0 {
		t.Fatalf("after the delay: %d events, %v", len(rec), err)
	}

	half := newTestLog(t, Options{Count: 2000, RecordingDelay: time.Minute, RecordingDelayFraction: 0.5, Now: clock.Now})
	missing := 0
	for _, sid := range sids {
		if _, err := readRecording(t, half, sid, 0); errors.Is(err, ErrNotFound) {
			missing++
		}
	}
	if missing < len(sids)/5 || missing > len(sids)*4/5 {
		t.Fatalf("fraction 0.5: %d of %d recordings missing", missing, len(sids))
	}
}

func TestRecordingNotUploadedYet(t *testing.T) {
	mid := testFrom.Add(36 * time.Hour)
	l := newTestLog(t, Options{Count: 2000, Now: func() time.Time { return mid }})
	var before, after int
	for _, ev := range auditEvents(t, l) {
		if ev.Type != "session.upload" {
			continue
		}
		_, err := readRecording(t, l, ev.SessionID, 0)
		switch {
		case ev.Time.After(mid) && errors.Is(err, ErrNotFound):
			after++
		case !ev.Time.After(mid) && err == nil:
			before++
		default:
			t.Fatalf("upload at %v, now %v: %v", ev.Time, mid, err)
		}
	}
	if before == 0 || after == 0 {
		t.Fatalf("%d uploaded, %d not yet", before, after)
	}
}
