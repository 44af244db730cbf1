package demo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/auditpipe/auditpipe/pkg/stream"
)

// topTypes is how many event types a progress block names.
const topTypes = 6

// stopTimeout bounds Run's Stop.
const stopTimeout = 60 * time.Second

// Snapshot is the pipeline's progress at one moment.
type Snapshot struct {
	// Time is when it was taken, Elapsed the time since Start.
	Time    time.Time
	Elapsed time.Duration
	// Received counts the events the receiver accepted, ByType by event type; Recordings is
	// the part of Received that came from session recordings. Refused counts the events of
	// requests the receiver refused (see the receiver's fault injection).
	Received   int
	Recordings int
	Refused    int
	ByType     map[string]int
	// Lag is now minus the time of the newest audit event ingest published (0 before the
	// first); Mode is ingest's mode ("search" or "export").
	Lag  time.Duration
	Mode string
	// Read and Published count ingest's events (Published includes duplicates the stream
	// dropped, e.g. a replay of events already delivered counts again).
	Read, Published int64
	// StreamMessages and StreamBytes are the events stream's size; DeadLetters the DLQ's.
	// StreamError is set when they could not be read.
	StreamMessages, StreamBytes uint64
	DeadLetters                 uint64
	StreamError                 string
}

// Snapshot reads the pipeline's progress: the receiver's counts, ingest's status and the
// streams' sizes (ctx bounds reading them).
func (p *Pipeline) Snapshot(ctx context.Context) Snapshot {
	now := time.Now()
	c := p.recv.counts()
	s := Snapshot{Time: now, Elapsed: now.Sub(p.started), Received: c.Total, Recordings: c.Sessions,
		Refused: c.Refused, ByType: c.ByType}
	if p.ingest != nil {
		st := p.ingest.Status()
		s.Lag, s.Mode, s.Read, s.Published = st.Lag, string(st.Mode), st.Events.Read, st.Events.Published
	}
	var sizes streamSizes
	select {
	case <-p.stopping:
		p.finalMu.Lock()
		sizes = p.final
		p.finalMu.Unlock()
		if sizes == (streamSizes{}) {
			sizes.err = "stopping"
		}
	default:
		sizes = p.streamSizes(ctx)
	}
	s.StreamMessages, s.StreamBytes, s.DeadLetters, s.StreamError = sizes.messages, sizes.bytes, sizes.deadLetters, sizes.err
	return s
}

// streamSizes are the sizes of the events stream and the DLQ.
type streamSizes struct {
	messages, bytes, deadLetters uint64
	err                          string
}

// streamSizes reads the sizes of the events stream and the DLQ, within a second.
func (p *Pipeline) streamSizes(ctx context.Context) streamSizes {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var out streamSizes
	str, err := p.js.Stream(ctx, cmp.Or(p.cfg.NATS.Stream, stream.DefaultName))
	if err == nil {
		info, err2 := str.Info(ctx)
		if err = err2; err == nil {
			out.messages, out.bytes = info.State.Msgs, info.State.Bytes
		}
	}
	if err == nil {
		var byDLQ map[string]uint64
		if byDLQ, err = p.dlq.Counts(ctx); err == nil {
			for _, n := range byDLQ {
				out.deadLetters += n
			}
		}
	}
	if err != nil {
		out.err = err.Error()
	}
	return out
}

// Run runs the demo: Start, a banner with the addresses and the export line for
// auditpipectl, a progress block every Interval until Duration has passed or ctx ends
// (Ctrl-C), Stop, and a summary. It returns nil after a clean stop; the error of the part
// that failed, or of the stop, otherwise. A ctx that ends while the pipeline starts stops it
// and returns nil.
func Run(ctx context.Context, o Options, out io.Writer) error {
	opts, err := o.withDefaults()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "auditpipe demo: starting the whole pipeline on this machine…\n")
	p, err := Start(ctx, opts)
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(out, "interrupted before the pipeline was up; everything started is stopped again")
			return nil
		}
		return err
	}
	p.printBanner(out)

	var deadline <-chan time.Time
	if opts.Duration > 0 {
		timer := time.NewTimer(opts.Duration)
		defer timer.Stop()
		deadline = timer.C
	}
	tick := time.NewTicker(opts.Interval)
	defer tick.Stop()
	prev := p.Snapshot(ctx)
	last := prev
	var failure error
loop:
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintf(out, "\ninterrupted: stopping…\n")
			break loop
		case <-deadline:
			fmt.Fprintf(out, "\n%v passed: stopping…\n", opts.Duration)
			break loop
		case <-p.Failed():
			failure = p.Err()
			fmt.Fprintf(out, "\n%v\nstopping…\n", failure)
			break loop
		case <-tick.C:
			cur := p.Snapshot(ctx)
			writeProgress(out, prev, cur)
			prev, last = cur, cur
		}
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
	defer cancel()
	began := time.Now()
	stopErr := p.Stop(stopCtx)
	final := p.Snapshot(stopCtx) // after the drain, with the streams as Stop last read them
	if final.StreamError != "" {
		final.StreamMessages, final.StreamBytes, final.DeadLetters = last.StreamMessages, last.StreamBytes, last.DeadLetters
	}
	p.writeSummary(out, final, time.Since(began), errors.Join(failure, stopErr))
	return errors.Join(failure, stopErr)
}

// printBanner says what runs where and how to reach the admin API.
func (p *Pipeline) printBanner(out io.Writer) {
	o := p.opts
	w := &strings.Builder{}
	live := "no live events"
	if o.Rate > 0 {
		live = fmt.Sprintf("live events at %s/s", formatFloat(o.Rate))
	}
	fmt.Fprintf(w, "\n  teleport-sim   %s: %s events over the last %s, %s\n", p.sim.Addr(), formatInt(o.Events), formatSpan(o.History), live)
	fmt.Fprintf(w, "  redis          %s\n", p.redis.describe())
	fmt.Fprintf(w, "  nats           %s (embedded, JetStream in the temporary directory)\n", p.natsSrv.ClientURL())
	fmt.Fprintf(w, "  ingest         1 replica, start-time %s (%s ago)\n", p.start.Format(time.RFC3339), formatSpan(o.Since))
	fmt.Fprintf(w, "  shippers       %d replicas → sink fluentd\n", o.Shippers)
	fmt.Fprintf(w, "  fluentd        %s/%s (a local in_http receiver over mutual TLS that counts what arrives)\n", p.recv.url, auditTag)
	fmt.Fprintf(w, "  admin API      %s\n", p.adminURL)
	fmt.Fprintf(w, "  logs           %s\n", p.logPath)
	fmt.Fprintf(w, "  files          %s (removed when the demo stops)\n", p.dir)
	for _, n := range p.notes {
		fmt.Fprintf(w, "  note:          %s\n", n)
	}
	fmt.Fprintf(w, "\nTry the admin API from another terminal while this runs:\n\n")
	fmt.Fprintf(w, "  export AUDITPIPE_ADMIN_URL=%s AUDITPIPE_ADMIN_TOKEN=%s\n", p.adminURL, p.token)
	fmt.Fprintf(w, "  auditpipectl status\n")
	// A replay window that ends within the settle grace (10 min) waits that long for its
	// settle pass: the example ends an hour ago.
	fmt.Fprintf(w, "  auditpipectl replay --from -25h --to -1h --wait      # that day again: the counts grow\n")
	if o.Since < o.History {
		fmt.Fprintf(w, "  auditpipectl reset-start-time --to -%s --yes    # the older events too\n", formatSpan(o.History+time.Hour))
	}
	fmt.Fprintf(w, "  auditpipectl dlq list\n")
	fmt.Fprintf(w, "  curl -H \"Authorization: Bearer $AUDITPIPE_ADMIN_TOKEN\" $AUDITPIPE_ADMIN_URL/v1/status\n\n")
	if o.Duration > 0 {
		fmt.Fprintf(w, "Running for %v; Ctrl-C stops it earlier.\n\n", o.Duration)
	} else {
		fmt.Fprintf(w, "Running until Ctrl-C.\n\n")
	}
	_, _ = io.WriteString(out, w.String())
}

// writeProgress writes one progress block: totals, throughput since prev, lag and sizes on
// the first line, the top event types on the second.
func writeProgress(out io.Writer, prev, cur Snapshot) {
	w := &strings.Builder{}
	dt := cur.Time.Sub(prev.Time).Seconds()
	rate := 0.0
	if dt > 0 {
		rate = float64(cur.Received-prev.Received) / dt
	}
	lag := "-"
	if cur.Lag > 0 {
		lag = formatDuration(cur.Lag)
	}
	size := "stream -"
	if cur.StreamError == "" {
		size = fmt.Sprintf("stream %s msgs %s  dlq %s", formatInt(int(cur.StreamMessages)), formatBytes(cur.StreamBytes), formatInt(int(cur.DeadLetters)))
	}
	fmt.Fprintf(w, "[%6s] received %s events (+%s, %s/s)  lag %s  %s\n",
		formatElapsed(cur.Elapsed), formatInt(cur.Received), formatInt(cur.Received-prev.Received), formatInt(int(rate+0.5)), lag, size)
	fmt.Fprintf(w, "         %s\n", topList(cur.ByType, topTypes))
	_, _ = io.WriteString(out, w.String())
}

// writeSummary writes what the run did.
func (p *Pipeline) writeSummary(out io.Writer, s Snapshot, stopped time.Duration, err error) {
	w := &strings.Builder{}
	if err != nil {
		fmt.Fprintf(w, "\nstopped with errors in %s: %v\n", formatDuration(stopped), err)
	} else {
		fmt.Fprintf(w, "\nstopped cleanly in %s\n", formatDuration(stopped))
	}
	secs := s.Elapsed.Seconds()
	avg := 0.0
	if secs > 0 {
		avg = float64(s.Received) / secs
	}
	fmt.Fprintf(w, "\nIn %s the receiver got %s events (%s from session recordings), %s/s on average;\n",
		formatDuration(s.Elapsed.Round(time.Second)), formatInt(s.Received), formatInt(s.Recordings), formatInt(int(avg+0.5)))
	fmt.Fprintf(w, "ingest read %s and published %s (%s mode); the stream held %s messages (%s); %s dead letters.\n",
		formatInt(int(s.Read)), formatInt(int(s.Published)), cmp.Or(s.Mode, "no"), formatInt(int(s.StreamMessages)),
		formatBytes(s.StreamBytes), formatInt(int(s.DeadLetters)))
	if len(s.ByType) > 0 {
		fmt.Fprintf(w, "\nBy event type:\n")
		for _, t := range sortedTypes(s.ByType) {
			fmt.Fprintf(w, "  %10s  %s\n", formatInt(s.ByType[t]), t)
		}
	}
	if p.opts.LogFile != "" {
		fmt.Fprintf(w, "\nThe engines' logs are in %s.\n", p.logPath)
	}
	_, _ = io.WriteString(out, w.String())
}

// sortedTypes returns the types of counts, most frequent first (ties by name).
func sortedTypes(counts map[string]int) []string {
	types := slices.Collect(maps.Keys(counts))
	slices.SortFunc(types, func(a, b string) int {
		return cmp.Or(cmp.Compare(counts[b], counts[a]), strings.Compare(a, b))
	})
	return types
}

// topList names the n most frequent types with their counts.
func topList(counts map[string]int, n int) string {
	if len(counts) == 0 {
		return "(nothing yet)"
	}
	types := sortedTypes(counts)
	var parts []string
	for _, t := range types[:min(n, len(types))] {
		parts = append(parts, t+" "+formatInt(counts[t]))
	}
	if rest := len(types) - n; rest > 0 {
		parts = append(parts, fmt.Sprintf("+%d more types", rest))
	}
	return strings.Join(parts, " · ")
}

// formatInt writes n with thousands separators: 12,345.
func formatInt(n int) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func formatFloat(f float64) string {
	if f == float64(int(f)) {
		return formatInt(int(f))
	}
	return fmt.Sprintf("%.1f", f)
}

// formatBytes writes a size in KiB, MiB or GiB.
func formatBytes(n uint64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
}

// formatDuration writes a duration to a precision that suits its size: 850ms, 2.4s, 1m05s,
// 3h12m, 2d04h.
func formatDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	case d < 24*time.Hour:
		d = d.Round(time.Minute)
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	d = d.Round(time.Hour)
	return fmt.Sprintf("%dd%02dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}

// formatSpan writes a configured span without zero parts: 3d, 36h, 1h30m, 45s.
func formatSpan(d time.Duration) string {
	s := formatDuration(d)
	for _, zero := range []string{"00h", "00m", "00s", ".0s"} {
		if strings.HasSuffix(s, zero) {
			s = strings.TrimSuffix(s, zero)
			if zero == ".0s" {
				s += "s"
			}
		}
	}
	return s
}

// formatElapsed writes the time since the start: 12s, 3m04s.
func formatElapsed(d time.Duration) string {
	d = d.Round(time.Second)
	if d < time.Minute {
		return fmt.Sprintf("%ds", int(d/time.Second))
	}
	return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
}
