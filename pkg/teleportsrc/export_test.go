package teleportsrc_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/teleportsim"
	"github.com/auditpipe/auditpipe/pkg/teleportsrc"
)

// simDays are the UTC days of simFrom..simTo.
func simDays() []time.Time {
	var days []time.Time
	for d := simFrom; d.Before(simTo); d = d.AddDate(0, 0, 1) {
		days = append(days, d)
	}
	return days
}

// exported is one event read by ExportChunk, with its resume cursor.
type exported struct {
	ev     event.Event
	cursor string
}

// readChunk reads a whole chunk through c.
func readChunk(t testing.TB, c *teleportsrc.Client, day time.Time, chunk, cursor string) []exported {
	t.Helper()
	var out []exported
	err := c.ExportChunk(context.Background(), day, chunk, cursor, func(ev event.Event, cursor string) error {
		out = append(out, exported{ev, cursor})
		return nil
	})
	if err != nil {
		t.Fatalf("ExportChunk %s %s: %v", day.Format(time.DateOnly), chunk, err)
	}
	return out
}

// TestExportReadsEveryChunkOfEveryDay lists the chunks of every day (single-event chunks
// included) and reads each: every audit event arrives once, intact.
func TestExportReadsEveryChunkOfEveryDay(t *testing.T) {
	l := simLog(t, 2000, teleportsim.Options{ChunkSize: 150, SingleEventChunks: true, DayBoundaries: true, HugeEvents: 1})
	want := auditEvents(t, l)
	s := startSim(t, teleportsim.ServerConfig{Log: l})
	c := newClient(t, keyPairConfig(s))

	seen := map[string]bool{}
	singles := 0
	for _, day := range simDays() {
		// Any time of the day names the day.
		chunks, err := c.ExportChunks(context.Background(), day.Add(13*time.Hour))
		if err != nil {
			t.Fatalf("ExportChunks %s: %v", day.Format(time.DateOnly), err)
		}
		if len(chunks) == 0 {
			t.Fatalf("no chunk on %s", day.Format(time.DateOnly))
		}
		for _, chunk := range chunks {
			evs := readChunk(t, c, day, chunk, "")
			if len(evs) == 1 {
				singles++
			}
			for _, x := range evs {
				if seen[x.ev.UID] {
					t.Fatalf("event %s read twice", x.ev.UID)
				}
				seen[x.ev.UID] = true
				if y, m, d := x.ev.Time.Date(); time.Date(y, m, d, 0, 0, 0, 0, time.UTC) != day {
					t.Fatalf("event at %v in a chunk of %s", x.ev.Time, day.Format(time.DateOnly))
				}
				checkEvent(t, event.Audit, x.ev, want[x.ev.UID])
			}
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("exported %d events, the log has %d", len(seen), len(want))
	}
	if singles == 0 {
		t.Fatal("no single-event chunk read")
	}
}

// TestExportChunkResumes reads a chunk from a cursor, and through a stream that the server
// cuts every few events: the Client resumes each time from the last cursor it yielded, so the
// events arrive once and in order.
func TestExportChunkResumes(t *testing.T) {
	l := simLog(t, 300, teleportsim.Options{ChunkSize: 24})
	s := startSim(t, teleportsim.ServerConfig{Log: l})
	reg := prometheus.NewRegistry()
	c := newClient(t, identityConfig(s, false), teleportsrc.WithRegisterer(reg))
	day := simFrom
	chunks, err := c.ExportChunks(context.Background(), day)
	if err != nil || len(chunks) == 0 {
		t.Fatalf("ExportChunks = %v, %v", chunks, err)
	}
	all := readChunk(t, c, day, chunks[0], "")
	if len(all) < 20 {
		t.Fatalf("chunk of %d events, want at least 20", len(all))
	}

	t.Run("from a cursor", func(t *testing.T) {
		got := readChunk(t, c, day, chunks[0], all[9].cursor)
		if len(got) != len(all)-10 || got[0].ev.UID != all[10].ev.UID {
			t.Fatalf("from the 10th cursor: %d events starting %s, want %d starting %s", len(got), got[0].ev.UID, len(all)-10, all[10].ev.UID)
		}
	})
	t.Run("through a cut stream", func(t *testing.T) {
		if err := s.SetFaults(teleportsim.Faults{StreamCutAfter: 7}); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = s.SetFaults(teleportsim.Faults{}) }()
		got := readChunk(t, c, day, chunks[0], "")
		if len(got) != len(all) {
			t.Fatalf("read %d events, want %d", len(got), len(all))
		}
		for i := range got {
			if got[i].ev.UID != all[i].ev.UID || got[i].cursor != all[i].cursor {
				t.Fatalf("event %d: %s (cursor %s), want %s (cursor %s)", i, got[i].ev.UID, got[i].cursor, all[i].ev.UID, all[i].cursor)
			}
		}
		cuts := metric(t, reg, "auditpipe_teleport_errors_total", "method", "export_events", "code", "Unavailable")
		if want := float64((len(all) - 1) / 7); cuts < want {
			t.Fatalf("errors_total{export_events,Unavailable} = %v, want >= %v", cuts, want)
		}
	})
}

// TestExportChunkStopsOnYieldError returns the yield's error unchanged and leaves no stream
// open.
func TestExportChunkStopsOnYieldError(t *testing.T) {
	s := startSim(t, teleportsim.ServerConfig{Log: simLog(t, 300, teleportsim.Options{})})
	c := newClient(t, identityConfig(s, false))
	chunks, err := c.ExportChunks(context.Background(), simFrom)
	if err != nil {
		t.Fatal(err)
	}
	errFull := errors.New("publish buffer full")
	n := 0
	err = c.ExportChunk(context.Background(), simFrom, chunks[0], "", func(event.Event, string) error {
		n++
		if n == 3 {
			return errFull
		}
		return nil
	})
	if err != errFull || n != 3 {
		t.Fatalf("ExportChunk = %v after %d events, want the yield's error after 3", err, n)
	}
	waitNoStreams(t, "ExportUnstructuredEvents")
}

// TestProbeExport finds the export API, and its absence (NotImplemented) as search mode.
func TestProbeExport(t *testing.T) {
	s := startSim(t, teleportsim.ServerConfig{Log: simLog(t, 50, teleportsim.Options{})})
	c := newClient(t, identityConfig(s, false))
	ok, err := c.ProbeExport(context.Background())
	if !ok || err != nil {
		t.Fatalf("ProbeExport = %v, %v; want true", ok, err)
	}
	if err := s.SetFaults(teleportsim.Faults{ExportNotImplemented: true}); err != nil {
		t.Fatal(err)
	}
	ok, err = c.ProbeExport(context.Background())
	if ok || err != nil {
		t.Fatalf("ProbeExport without export = %v, %v; want false, nil", ok, err)
	}
	_, err = c.ExportChunks(context.Background(), simFrom)
	if got := teleportsrc.Classify(err); got != teleportsrc.NotImplemented {
		t.Fatalf("ExportChunks without export: %v classified %v", err, got)
	}
}
