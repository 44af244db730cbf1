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

// apiReplay is the wire form of a replay at now: progress, and for an active replay with
// windows done, an ETA that assumes the rest goes at the pace so far:
// now + elapsed/done × (total − done).
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
	done, total := rp.Windows.Done, rp.Windows.Total()
	if rp.State == window.ReplayActive && done > 0 && done < total {
		elapsed := max(now.Sub(rp.CreatedAt), 0)
		perWindow := elapsed / time.Duration(done)
		out.ETA = now.Add(perWindow * time.Duration(total-done)).UTC()
	}
	return out
}
