package admin

import (
	"time"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/window"
)

// maxReplayWindows is the most windows one replay may have (the window store's limit).
const maxReplayWindows = 10_000

// replayWindowSize is the search window size of a replay of [from, to): the configured size,
// enlarged (to a whole millisecond) where needed so that the range makes at most
// maxReplayWindows windows. from must be before to.
func replayWindowSize(from, to time.Time, configured time.Duration) time.Duration {
	size := max(configured, time.Millisecond)
	span := to.Sub(from)
	if (span+size-1)/size <= maxReplayWindows {
		return size
	}
	size = (span + maxReplayWindows - 1) / maxReplayWindows
	return (size + time.Millisecond - 1).Truncate(time.Millisecond)
}

// apiReplay is the wire form of a replay at now: progress, the settle passes it waits for,
// and an ETA for an active replay (replayETA).
func apiReplay(rp window.Replay, now time.Time) adminapi.Replay {
	out := adminapi.Replay{
		ID:           rp.ID,
		State:        string(rp.State),
		From:         rp.From,
		To:           rp.To,
		Types:        rp.Types,
		Sinks:        rp.Sinks,
		CreatedAt:    rp.CreatedAt,
		FinishedAt:   rp.FinishedAt,
		Windows:      apiCounts(rp.Windows),
		WindowsDone:  rp.Windows.Done,
		WindowsTotal: rp.Windows.Total(),
		Events:       rp.Events,
	}
	if rp.State == window.ReplayActive {
		out.WindowsSettling = rp.Settling
		if rp.Settling > 0 {
			out.SettlesAt = rp.SettlesAt.UTC()
		}
		out.ETA = replayETA(rp, now)
	}
	return out
}

// replayETA estimates when an active replay will be done: its windows' first passes go on at
// the pace so far (now + elapsed / first passes done × first passes left), and the settle
// passes its windows wait for make it done no sooner than the last of them is due. When only
// settle passes are left, that is the ETA (now, once they are due). No first pass done: no
// estimate. (A first pass still to come may add a settle pass past SettlesAt; that is not
// foreseen, as the admin does not know ingest.settle-grace. Replay windows are claimed newest
// first, so the last window, which settles last, is usually read early.)
func replayETA(rp window.Replay, now time.Time) time.Time {
	c := rp.Windows
	read := c.Done + rp.Settling
	left := c.Total() - c.Cancelled - read
	var eta time.Time
	switch {
	case left > 0 && read > 0:
		elapsed := max(now.Sub(rp.CreatedAt), 0)
		eta = now.Add(elapsed / time.Duration(read) * time.Duration(left))
	case left == 0 && rp.Settling > 0:
		eta = now
	default:
		return time.Time{}
	}
	if rp.Settling > 0 && rp.SettlesAt.After(eta) {
		eta = rp.SettlesAt
	}
	return eta.UTC()
}
