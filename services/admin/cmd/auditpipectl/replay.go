package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
)

// Replay states, as the API reports them.
const (
	replayActive    = "active"
	replayDone      = "done"
	replayCancelled = "cancelled"
)

// replayCmd is `auditpipectl replay`.
type replayCmd struct {
	From     string        `required:"" help:"Start of the range: RFC 3339, a date, now, or relative such as -72h or -3d." placeholder:"TIME"`
	To       string        `required:"" help:"End of the range (exclusive), not in the future; same forms as --from." placeholder:"TIME"`
	Types    []string      `help:"Only these event types (comma-separated; default: every type)." placeholder:"TYPE"`
	Sinks    []string      `help:"Deliver to these sinks only: fluentd, datadog, lock (comma-separated; default: every sink)." placeholder:"SINK"`
	Wait     bool          `help:"Wait until the replay is done, with a progress bar; exit 1 if it ends cancelled."`
	Interval time.Duration `help:"How often --wait asks for progress." default:"2s"`
	outputFlag
}

func (c *replayCmd) Run(a *app) error {
	now := a.now()
	from, err := parseTime(c.From, now)
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	to, err := parseTime(c.To, now)
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	if !from.Before(to) {
		return fmt.Errorf("--from %s is not before --to %s", fmtTime(from), fmtTime(to))
	}
	if c.Interval <= 0 {
		return fmt.Errorf("--interval must be positive, got %s", c.Interval)
	}
	cl, err := a.client()
	if err != nil {
		return err
	}
	r, err := cl.CreateReplay(a.ctx, adminapi.ReplayRequest{From: from, To: to, Types: c.Types, Sinks: c.Sinks})
	if err != nil {
		return err
	}
	if !c.json() {
		fmt.Fprintf(a.stdout, "replay %s started: %s to %s, %d windows, sinks %s, types %s\n",
			r.ID, fmtTime(r.From), fmtTime(r.To), r.WindowsTotal, listOrAll(r.Sinks), listOrAll(r.Types))
	}
	if c.Wait {
		if r, err = waitReplay(a.ctx, cl, r, c.Interval, a.stderr, a.now); err != nil {
			return err
		}
	}
	if c.json() {
		if err := writeJSON(a.stdout, r); err != nil {
			return err
		}
	} else if c.Wait {
		end := r.FinishedAt
		if end.IsZero() {
			end = a.now()
		}
		fmt.Fprintf(a.stdout, "replay %s %s: %d/%d windows, %d events, in %s\n", r.ID, r.State,
			r.WindowsDone, r.WindowsTotal, r.Events, fmtDuration(max(end.Sub(r.CreatedAt), 0)))
	}
	if r.State == replayCancelled {
		return fmt.Errorf("replay %s was cancelled (%d/%d windows done)", r.ID, r.WindowsDone, r.WindowsTotal)
	}
	return nil
}

// waitReplay polls the replay every interval until it is no longer active, showing a
// progress bar on w: windows done of total, events published and the server's ETA, or, once
// every window was read and only settle passes are left, when the last of those is due. It
// returns the replay's final state. When ctx ends it stops waiting (the replay goes on).
func waitReplay(ctx context.Context, cl *adminapi.Client, r *adminapi.Replay, interval time.Duration, w io.Writer,
	now func() time.Time) (*adminapi.Replay, error) {
	bar := progressbar.NewOptions64(max(r.WindowsTotal, 1),
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(progressText(r, now())),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
	// The bar is drawn again only when the progress changes (or the minutes to a settle pass
	// do): a log of a run in a pipe stays short.
	shown := ""
	update := func(r *adminapi.Replay) {
		text := progressText(r, now())
		if text == shown {
			return
		}
		shown = text
		if total := max(r.WindowsTotal, 1); total != bar.GetMax64() {
			bar.ChangeMax64(total)
		}
		bar.Describe(text)
		_ = bar.Set64(min(r.WindowsDone, bar.GetMax64()))
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		update(r)
		if r.State != replayActive {
			if r.State == replayDone {
				_ = bar.Finish()
			} else {
				_ = bar.Exit()
				fmt.Fprintln(w)
			}
			return r, nil
		}
		select {
		case <-ctx.Done():
			_ = bar.Exit()
			fmt.Fprintln(w)
			settle := ""
			if settling(r) {
				settle = " (every window was read; it waits for the settle pass at " + clockTime(r.SettlesAt, now()) + ")"
			}
			return nil, fmt.Errorf("stopped waiting (%w); replay %s goes on%s: `auditpipectl replay` does not cancel it, `auditpipectl cancel %s` does",
				context.Cause(ctx), r.ID, settle, r.ID)
		case <-t.C:
		}
		next, err := cl.Replay(ctx, r.ID)
		switch {
		case err == nil:
			r = next
		case ctx.Err() != nil:
			// The select above reports it.
		case errors.Is(err, adminapi.ErrUnreachable):
			// A restart of auditpipe-admin, say: keep waiting; the bar shows the last progress.
			bar.Describe(progressText(r, now()) + " (API unreachable, retrying)")
		default:
			_ = bar.Exit()
			fmt.Fprintln(w)
			return nil, fmt.Errorf("replay %s: %w", r.ID, err)
		}
	}
}

// progressText is the bar's description at now: windows, events and the ETA; once only settle
// passes are left, when the last is due (the server's settles_at).
func progressText(r *adminapi.Replay, now time.Time) string {
	if settling(r) {
		due := "due now"
		if left := r.SettlesAt.Sub(now); left > 0 {
			due = "in " + roughly(left)
		}
		return fmt.Sprintf("exported %d events; waiting for the settle pass at %s (%s) for late events",
			r.Events, clockTime(r.SettlesAt, now), due)
	}
	s := fmt.Sprintf("%d/%d windows, %d events", r.WindowsDone, r.WindowsTotal, r.Events)
	switch {
	case r.State != replayActive:
		s += ", " + r.State
	case !r.ETA.IsZero():
		left := max(r.ETA.Sub(now), 0)
		at := r.ETA.Local().Format(time.TimeOnly)
		if left > 12*time.Hour {
			at = fmtTime(r.ETA)
		}
		s += ", ETA " + at + " (in " + roughly(left) + ")"
	default:
		s += ", ETA -"
	}
	if r.State == replayActive && !r.SettlesAt.IsZero() {
		s += ", settle pass at " + clockTime(r.SettlesAt, now)
	}
	return s
}

// settling tells whether every window of an active replay was read and it waits only for
// settle passes: ingest reads a window once more ingest.settle-grace after its end when its
// first read began before then, for events Teleport surfaces late. The server says when the
// last is due (settles_at); an older server, which does not, never looks settling.
func settling(r *adminapi.Replay) bool {
	return r.State == replayActive && r.WindowsSettling > 0 && !r.SettlesAt.IsZero() &&
		r.WindowsDone+r.WindowsSettling+r.Windows.Cancelled >= r.WindowsTotal
}

// clockTime is t as a UTC time of day, 14:05:10Z, when within 12 hours of now; else in full.
func clockTime(t, now time.Time) string {
	if d := t.Sub(now); d > 12*time.Hour || d < -12*time.Hour {
		return fmtTime(t)
	}
	return t.UTC().Format("15:04:05Z")
}

// roughly is d to the minute, for an ETA that is an estimate: <1m, 12m, 5h12m, 3d4h.
func roughly(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "<1m"
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Round(time.Minute)/time.Minute))
	}
	return fmtDuration(d)
}

// replaysCmd is `auditpipectl replays`.
type replaysCmd struct {
	outputFlag
}

func (c *replaysCmd) Run(a *app) error {
	cl, err := a.client()
	if err != nil {
		return err
	}
	list, err := cl.Replays(a.ctx)
	if err != nil {
		return err
	}
	if c.json() {
		return writeJSON(a.stdout, list)
	}
	if len(list.Replays) == 0 {
		fmt.Fprintln(a.stdout, "no replays")
		return nil
	}
	t := newTable(a.stdout)
	fmt.Fprintln(t, "ID\tSTATE\tFROM\tTO\tWINDOWS\tEVENTS\tCREATED\tETA/FINISHED\tSINKS\tTYPES")
	for _, r := range list.Replays {
		state, end := r.State, fmtTime(r.ETA)
		switch {
		case r.State != replayActive:
			end = fmtTime(r.FinishedAt)
		case settling(&r):
			// Active, every window read: it waits for the settle pass due then.
			state, end = "settling", fmtTime(r.SettlesAt)
		}
		fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%d/%d\t%d\t%s\t%s\t%s\t%s\n", r.ID, state, fmtTime(r.From), fmtTime(r.To),
			r.WindowsDone, r.WindowsTotal, r.Events, fmtTime(r.CreatedAt), end, listOrAll(r.Sinks), listOrAll(r.Types))
	}
	return t.Flush()
}

// cancelCmd is `auditpipectl cancel <id>`.
type cancelCmd struct {
	ID string `arg:"" help:"The replay's id (auditpipectl replays lists them)."`
}

func (c *cancelCmd) Run(a *app) error {
	cl, err := a.client()
	if err != nil {
		return err
	}
	r, err := cl.CancelReplay(a.ctx, strings.TrimSpace(c.ID))
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "replay %s %s: %d/%d windows done, %d events\n", r.ID, r.State, r.WindowsDone, r.WindowsTotal, r.Events)
	return nil
}
