package main

import (
	"errors"
	"fmt"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
)

// resetStartTimeCmd is `auditpipectl reset-start-time --to T --yes`.
type resetStartTimeCmd struct {
	To  string `required:"" help:"The new start time: RFC 3339, a date, now, or relative such as -72h." placeholder:"TIME"`
	Yes bool   `help:"Confirm: the current epoch's unfinished windows are withdrawn and export starts again from --to."`
}

func (c *resetStartTimeCmd) Run(a *app) error {
	to, err := parseTime(c.To, a.now())
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	if !c.Yes {
		return errors.New("reset-start-time starts a new epoch from " + fmtTime(to) + ": the current epoch's " +
			"unfinished windows are withdrawn (what is already queued is kept) and every event from then on " +
			"is exported again. Add --yes to do it")
	}
	cl, err := a.client()
	if err != nil {
		return err
	}
	res, err := cl.ResetStartTime(a.ctx, adminapi.StartTimeRequest{StartTime: to, Confirm: true})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "epoch %d starts at %s: ingest exports from there\n", res.Epoch, fmtTime(res.StartTime))
	return nil
}

// pauseCmd is `auditpipectl pause`.
type pauseCmd struct{}

func (c *pauseCmd) Run(a *app) error {
	cl, err := a.client()
	if err != nil {
		return err
	}
	st, err := cl.Pause(a.ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "ingest paused since %s: replicas claim no new windows or session jobs (work in hand may finish); `auditpipectl resume` resumes\n", fmtTime(st.PausedAt))
	return nil
}

// resumeCmd is `auditpipectl resume`.
type resumeCmd struct{}

func (c *resumeCmd) Run(a *app) error {
	cl, err := a.client()
	if err != nil {
		return err
	}
	st, err := cl.Resume(a.ctx)
	if err != nil {
		return err
	}
	if st.Paused {
		return fmt.Errorf("ingest is still paused (since %s)", fmtTime(st.PausedAt))
	}
	fmt.Fprintln(a.stdout, "ingest resumed")
	return nil
}
