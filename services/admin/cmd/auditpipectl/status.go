package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
)

// statusCmd is `auditpipectl status`.
type statusCmd struct {
	outputFlag
}

func (c *statusCmd) Run(a *app) error {
	cl, err := a.client()
	if err != nil {
		return err
	}
	st, err := cl.Status(a.ctx)
	if err != nil {
		return err
	}
	if c.json() {
		return writeJSON(a.stdout, st)
	}
	return printStatus(a.stdout, st)
}

// printStatus writes st as a readable report: one section per part of the pipeline.
func printStatus(w io.Writer, st *adminapi.Status) error {
	now := st.Time
	if now.IsZero() {
		now = time.Now()
	}
	in := st.Ingest
	t := newTable(w)
	state := "running"
	if in.Paused {
		state = "PAUSED since " + fmtTime(in.PausedAt)
	}
	fmt.Fprintf(t, "Ingest\t%s, mode %s, epoch %d from %s\n", state, orDash(in.Mode), in.Epoch, fmtTime(in.StartTime))
	fmt.Fprintf(t, "Windows\t%s\n", fmtCounts(in.Windows))
	lag := "-"
	if !in.Newest.IsZero() {
		lag = fmtDuration(time.Duration(in.LagSeconds * float64(time.Second)))
	}
	// Search windows are planned up to a watermark; export mode works by day and chunk.
	planned := ""
	if in.Mode == "search" {
		planned = ", planned until " + fmtTime(in.PlannedUntil)
	}
	fmt.Fprintf(t, "Tail\tnewest event %s (lag %s)%s\n", fmtTime(in.Newest), lag, planned)
	fmt.Fprintf(t, "Sessions\t%d in progress, %d missing; %s\n", in.SessionsInProgress, in.SessionsMissing, fmtCounts(in.Sessions))
	s := st.Stream
	if s.Error != "" {
		fmt.Fprintf(t, "Stream\t%s: %s\n", orDash(s.Name), s.Error)
	} else if s.Messages == 0 {
		fmt.Fprintf(t, "Stream\t%s: 0 messages (last seq %d)\n", s.Name, s.LastSeq)
	} else {
		fmt.Fprintf(t, "Stream\t%s: %d messages, %s, seq %d..%d, %s to %s\n", s.Name, s.Messages, fmtBytes(s.Bytes),
			s.FirstSeq, s.LastSeq, fmtTime(s.FirstTime), fmtTime(s.LastTime))
	}
	dlq := fmt.Sprintf("%d", st.DLQ.Total)
	if st.DLQ.Error != "" {
		dlq = st.DLQ.Error
	} else if len(st.DLQ.BySink) > 0 {
		var parts []string
		for _, sink := range slices.Sorted(maps.Keys(st.DLQ.BySink)) {
			parts = append(parts, fmt.Sprintf("%s %d", sink, st.DLQ.BySink[sink]))
		}
		dlq += " (" + strings.Join(parts, ", ") + ")"
	}
	fmt.Fprintf(t, "Dead letters\t%s\n", dlq)
	fmt.Fprintf(t, "Replays\t%d active, %d done, %d cancelled\n", st.Replays.Active, st.Replays.Done, st.Replays.Cancelled)
	if err := t.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w, "\nConsumers")
	t = newTable(w)
	fmt.Fprintln(t, "  SINK\tCONSUMER\tPENDING\tACK PENDING\tREDELIVERED\tWAITING\tDELIVERED SEQ\tACK FLOOR")
	if len(st.Consumers) == 0 {
		fmt.Fprintln(t, "  (none)")
	}
	for _, c := range st.Consumers {
		fmt.Fprintf(t, "  %s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\n", c.Sink, c.Name, c.Pending, c.AckPending, c.Redelivered, c.Waiting, c.Delivered, c.AckFloor)
	}
	if err := t.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w, "\nReplicas")
	t = newTable(w)
	fmt.Fprintln(t, "  SERVICE\tID\tVERSION\tSTARTED\tSEEN\tSTATUS")
	services := slices.Sorted(maps.Keys(st.Replicas))
	// The pipeline's order first, anything else after.
	order := map[string]int{"ingest": 0, "shipper": 1, "admin": 2}
	slices.SortStableFunc(services, func(a, b string) int {
		oa, ok := order[a]
		if !ok {
			oa = 3
		}
		ob, ok := order[b]
		if !ok {
			ob = 3
		}
		return oa - ob
	})
	n := 0
	for _, svc := range services {
		for _, m := range st.Replicas[svc] {
			n++
			fmt.Fprintf(t, "  %s\t%s\t%s\t%s\t%s\t%s\n", svc, m.ID, orDash(m.Version), fmtAgo(m.Started, now), fmtAgo(m.Seen, now), memberStatus(svc, m.Status))
		}
	}
	if n == 0 {
		fmt.Fprintln(t, "  (none)")
	}
	return t.Flush()
}

// fmtCounts is "done 3/10 (pending 5, leased 2)", leaving out states with no unit.
func fmtCounts(c adminapi.Counts) string {
	s := fmt.Sprintf("done %d/%d", c.Done, c.Total)
	var parts []string
	for _, p := range []struct {
		name string
		n    int64
	}{{"pending", c.Pending}, {"leased", c.Leased}, {"failed", c.Failed}, {"cancelled", c.Cancelled}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", p.name, p.n))
		}
	}
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return s
}

// memberStatus is a one-line summary of what a replica reports, by service.
func memberStatus(service string, raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return "-"
	}
	switch service {
	case "ingest":
		var m adminapi.IngestMember
		if json.Unmarshal(raw, &m) == nil {
			state := "running"
			if !m.Running {
				state = "idle"
			}
			if m.DryRun {
				state += " (dry run)"
			}
			return fmt.Sprintf("%s, %s mode, %d published, lag %s, %d held", state, orDash(m.Mode), m.Published,
				fmtDuration(time.Duration(m.LagSeconds*float64(time.Second))), m.Held)
		}
	case "shipper":
		var m adminapi.ShipperMember
		if json.Unmarshal(raw, &m) == nil {
			s := "sinks " + strings.Join(m.Sinks, ",")
			if len(m.Blocked) > 0 {
				s += ", BLOCKED " + strings.Join(m.Blocked, ",")
			}
			var parts []string
			for _, sink := range slices.Sorted(maps.Keys(m.Delivered)) {
				parts = append(parts, fmt.Sprintf("%s %d", sink, m.Delivered[sink]))
			}
			if len(parts) > 0 {
				s += ", delivered " + strings.Join(parts, ", ")
			}
			return s
		}
	}
	s := string(raw)
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return s
}
