package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
)

// dlqCmd is `auditpipectl dlq`: its verbs.
type dlqCmd struct {
	List    dlqListCmd    `cmd:"" help:"List dead letters, oldest first, a page at a time."`
	Redrive dlqRedriveCmd `cmd:"" help:"Publish dead letters again (by id, or --all matching --sink/--reason), optionally to another sink."`
	Delete  dlqDeleteCmd  `cmd:"" help:"Delete one dead letter."`
}

// dlqListCmd is `auditpipectl dlq list`.
type dlqListCmd struct {
	Sink   string `help:"Only the dead letters of this sink (fluentd, datadog, lock)." placeholder:"SINK"`
	Reason string `help:"Only those whose reason contains this text." placeholder:"TEXT"`
	Limit  int    `help:"Page size (default: the server's)." placeholder:"N"`
	After  uint64 `help:"Start after this id: the next page's --after, printed below a page." placeholder:"ID"`
	outputFlag
}

func (c *dlqListCmd) Run(a *app) error {
	if c.Limit < 0 {
		return fmt.Errorf("--limit must not be negative, got %d", c.Limit)
	}
	cl, err := a.client()
	if err != nil {
		return err
	}
	page, err := cl.DLQ(a.ctx, adminapi.DLQQuery{Sink: c.Sink, Reason: c.Reason, After: c.After, Limit: c.Limit})
	if err != nil {
		return err
	}
	if c.json() {
		return writeJSON(a.stdout, page)
	}
	if len(page.Entries) == 0 {
		fmt.Fprintln(a.stdout, "no dead letters")
		return nil
	}
	t := newTable(a.stdout)
	fmt.Fprintln(t, "ID\tTIME\tSINK\tATTEMPTS\tEVENT TYPE\tEVENT ID\tSUBJECT\tREASON")
	for _, e := range page.Entries {
		fmt.Fprintf(t, "%d\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", e.ID, fmtTime(e.Time), e.Sink, e.Attempts,
			orDash(e.EventType), orDash(e.EventID), e.OriginalSubject, oneLine(e.Reason, 80))
	}
	if err := t.Flush(); err != nil {
		return err
	}
	if page.Next != 0 {
		fmt.Fprintf(a.stdout, "more: auditpipectl dlq list --after %d%s\n", page.Next, c.filterFlags())
	}
	return nil
}

// filterFlags repeats the filters of the command line, for the next page's command.
func (c *dlqListCmd) filterFlags() string {
	var b strings.Builder
	if c.Sink != "" {
		fmt.Fprintf(&b, " --sink %s", c.Sink)
	}
	if c.Reason != "" {
		b.WriteString(" --reason ")
		b.Write(mustJSON(c.Reason))
	}
	if c.Limit != 0 {
		fmt.Fprintf(&b, " --limit %d", c.Limit)
	}
	return b.String()
}

func mustJSON(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

// oneLine makes s one line of at most n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// dlqRedriveCmd is `auditpipectl dlq redrive`.
type dlqRedriveCmd struct {
	IDs    []uint64 `arg:"" optional:"" name:"id" help:"The dead letters to redrive (ids from dlq list)."`
	All    bool     `help:"Redrive every dead letter matching --sink and --reason instead of ids."`
	Sink   string   `help:"With --all: only the dead letters of this sink." placeholder:"SINK"`
	Reason string   `help:"With --all: only those whose reason contains this text." placeholder:"TEXT"`
	ToSink string   `name:"to-sink" help:"Deliver to this sink instead of the one that gave up on each." placeholder:"SINK"`
	Keep   bool     `help:"Keep the entries in the dead-letter queue after redriving them (default: delete them)."`
}

func (c *dlqRedriveCmd) Run(a *app) error {
	switch {
	case c.All && len(c.IDs) > 0:
		return errors.New("give ids or --all, not both")
	case !c.All && len(c.IDs) == 0:
		return errors.New("give the ids to redrive, or --all (with --sink/--reason to narrow it)")
	case !c.All && (c.Sink != "" || c.Reason != ""):
		return errors.New("--sink and --reason narrow --all; with ids, leave them out")
	case len(c.IDs) > adminapi.MaxRedrive:
		return fmt.Errorf("at most %d ids at once, got %d", adminapi.MaxRedrive, len(c.IDs))
	}
	cl, err := a.client()
	if err != nil {
		return err
	}
	req := adminapi.RedriveRequest{IDs: c.IDs, All: c.All, Sink: c.Sink, Reason: c.Reason, ToSink: c.ToSink}
	if c.Keep {
		keep := false
		req.Delete = &keep
	}
	var redriven, failed int
	for {
		res, err := cl.Redrive(a.ctx, req)
		if err != nil {
			if redriven+failed > 0 {
				fmt.Fprintf(a.stdout, "redriven %d, failed %d before the error\n", redriven, failed)
			}
			return err
		}
		for _, e := range res.Redriven {
			fmt.Fprintf(a.stdout, "redriven %d -> %s (seq %d)\n", e.ID, e.Subject, e.Seq)
		}
		for _, e := range res.Failed {
			fmt.Fprintf(a.stdout, "FAILED   %d: %s\n", e.ID, e.Error)
		}
		redriven += len(res.Redriven)
		failed += len(res.Failed)
		if !res.More {
			break
		}
		if c.Keep || len(res.Redriven) == 0 {
			// Kept entries would match again: page with dlq list and redrive by id.
			fmt.Fprintf(a.stdout, "more dead letters match than one request redrives (%d): page through "+
				"`auditpipectl dlq list` and redrive them by id\n", adminapi.MaxRedrive)
			break
		}
	}
	target := "the sink that gave up on each"
	if c.ToSink != "" {
		target = c.ToSink
	}
	fmt.Fprintf(a.stdout, "redriven %d dead letters to %s", redriven, target)
	if failed > 0 {
		fmt.Fprintf(a.stdout, "; %d failed\n", failed)
		return fmt.Errorf("%d dead letters were not redriven", failed)
	}
	fmt.Fprintln(a.stdout)
	return nil
}

// dlqDeleteCmd is `auditpipectl dlq delete <id>`.
type dlqDeleteCmd struct {
	ID uint64 `arg:"" help:"The dead letter's id (from dlq list)."`
}

func (c *dlqDeleteCmd) Run(a *app) error {
	cl, err := a.client()
	if err != nil {
		return err
	}
	if err := cl.DeleteDeadLetter(a.ctx, c.ID); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "deleted dead letter %d\n", c.ID)
	return nil
}
