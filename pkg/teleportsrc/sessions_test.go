package teleportsrc_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/teleportsim"
	"github.com/auditpipe/auditpipe/pkg/teleportsrc"
)

// sessionMix makes a log of interactive sessions, many joined by others: long recordings.
var sessionMix = map[string]int{"session.start": 1, "session.join": 6}

// longestRecording returns the session id with the most recording events in l.
func longestRecording(t testing.TB, l *teleportsim.Log) (sid string, events int) {
	t.Helper()
	counts := map[string]int{}
	l.Manifest(func(e teleportsim.ManifestEntry) bool {
		if e.Kind == teleportsim.KindSession {
			counts[e.SessionID]++
		}
		return true
	})
	for s, n := range counts {
		if n > events {
			sid, events = s, n
		}
	}
	if events < 20 {
		t.Fatalf("longest recording has %d events, want at least 20", events)
	}
	return sid, events
}

// recording reads the Log's recording of sid from startIndex, in process.
func recording(t testing.TB, l *teleportsim.Log, sid string, startIndex int64) []teleportsim.Event {
	t.Helper()
	var out []teleportsim.Event
	if err := l.SessionEvents(sid, startIndex, func(ev teleportsim.Event) error {
		out = append(out, ev)
		return nil
	}); err != nil {
		t.Fatalf("Log.SessionEvents: %v", err)
	}
	return out
}

// readSession reads a recording through c.
func readSession(t testing.TB, c *teleportsrc.Client, sid string, startIndex int64) []event.Event {
	t.Helper()
	var out []event.Event
	if err := c.SessionEvents(context.Background(), sid, startIndex, func(ev event.Event) error {
		out = append(out, ev)
		return nil
	}); err != nil {
		t.Fatalf("SessionEvents %s from %d: %v", sid, startIndex, err)
	}
	return out
}

func TestSessionEventsReadsARecording(t *testing.T) {
	l := simLog(t, 400, teleportsim.Options{Mix: sessionMix, Unicode: true})
	sid, _ := longestRecording(t, l)
	s := startSim(t, teleportsim.ServerConfig{Log: l})
	c := newClient(t, identityConfig(s, false))

	for _, from := range []int64{0, 17} {
		want := recording(t, l, sid, from)
		got := readSession(t, c, sid, from)
		if len(got) != len(want) {
			t.Fatalf("from %d: %d events, want %d", from, len(got), len(want))
		}
		for i := range got {
			// A print event's JSON has no sid; the Client sets the recording's.
			checkEvent(t, event.Session, got[i], want[i])
		}
		if got[0].Index != from {
			t.Fatalf("from %d: first event has ei %d", from, got[0].Index)
		}
	}
}

// TestSessionEventsResumesACutStream reads a recording through a stream the server cuts every
// few events: the Client resumes after the last event it yielded.
func TestSessionEventsResumesACutStream(t *testing.T) {
	l := simLog(t, 400, teleportsim.Options{Mix: sessionMix})
	sid, n := longestRecording(t, l)
	s := startSim(t, teleportsim.ServerConfig{Log: l, Faults: teleportsim.Faults{StreamCutAfter: n / 4}})
	c := newClient(t, identityConfig(s, false))
	got := readSession(t, c, sid, 0)
	if len(got) != n {
		t.Fatalf("read %d events, want %d", len(got), n)
	}
	for i, ev := range got {
		if ev.Index != int64(i) {
			t.Fatalf("event %d has ei %d", i, ev.Index)
		}
	}
}

// TestSessionEventsClosesTheStream stops reading early, by a yield error and by cancelling the
// context: each time SessionEvents returns with the stream closed on both ends.
func TestSessionEventsClosesTheStream(t *testing.T) {
	const rpc = "StreamUnstructuredSessionEvents"
	l := simLog(t, 400, teleportsim.Options{Mix: sessionMix})
	sid, _ := longestRecording(t, l)
	s := startSim(t, teleportsim.ServerConfig{Log: l})
	c := newClient(t, identityConfig(s, false))
	waitNoStreams(t, rpc)

	t.Run("yield error", func(t *testing.T) {
		errStop := errors.New("stop")
		n := 0
		err := c.SessionEvents(context.Background(), sid, 0, func(event.Event) error {
			n++
			if n == 2 {
				return errStop
			}
			return nil
		})
		if err != errStop {
			t.Fatalf("SessionEvents = %v, want the yield's error", err)
		}
		waitNoStreams(t, rpc)
	})
	t.Run("context cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		err := c.SessionEvents(ctx, sid, 0, func(event.Event) error {
			cancel()
			return nil
		})
		if got := teleportsrc.Classify(err); got != teleportsrc.Canceled {
			t.Fatalf("SessionEvents = %v classified %v, want Canceled", err, got)
		}
		waitNoStreams(t, rpc)
	})
	t.Run("deadline while the consumer is slow", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		err := c.SessionEvents(ctx, sid, 0, func(event.Event) error {
			time.Sleep(50 * time.Millisecond)
			return nil
		})
		if got := teleportsrc.Classify(err); got != teleportsrc.Retry {
			t.Fatalf("SessionEvents = %v classified %v, want Retry", err, got)
		}
		waitNoStreams(t, rpc)
	})
	t.Run("the whole recording", func(t *testing.T) {
		readSession(t, c, sid, 0)
		waitNoStreams(t, rpc)
	})
}

// TestSessionEventsNotFound classifies a recording that is not uploaded yet as NotFound, and
// reads it once it is.
func TestSessionEventsNotFound(t *testing.T) {
	l := simLog(t, 200, teleportsim.Options{Mix: sessionMix, RecordingDelay: 500 * time.Millisecond})
	sid, _ := longestRecording(t, l)
	s := startSim(t, teleportsim.ServerConfig{Log: l})
	c := newClient(t, identityConfig(s, false))

	err := c.SessionEvents(context.Background(), "no-such-session", 0, func(event.Event) error { return nil })
	if got := teleportsrc.Classify(err); got != teleportsrc.NotFound {
		t.Fatalf("unknown session: %v classified %v, want NotFound", err, got)
	}
	err = c.SessionEvents(context.Background(), sid, 0, func(event.Event) error { return nil })
	if got := teleportsrc.Classify(err); got != teleportsrc.NotFound {
		t.Fatalf("recording not uploaded yet: %v classified %v, want NotFound", err, got)
	}
	time.Sleep(600 * time.Millisecond)
	if got := readSession(t, c, sid, 0); len(got) == 0 {
		t.Fatal("no event once uploaded")
	}
	err = c.SessionEvents(context.Background(), sid, 1<<31, func(event.Event) error { return nil })
	if got := teleportsrc.Classify(err); got != teleportsrc.Fatal {
		t.Fatalf("start index beyond int32: %v classified %v, want Fatal", err, got)
	}
	waitNoStreams(t, "StreamUnstructuredSessionEvents")
}
