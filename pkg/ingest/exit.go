package ingest

import "time"

// exitCheck ends the run for exit-on-last-event once the work up to its start is done. The
// epoch was planned once, up to the window that held the start (planOnce); the run is done
// when, in shared state read at some time t,
//   - no window of the epoch is leased but those this replica parked (read up to the start,
//     ending after it), and
//   - no session job is pending (due now or backing off) or leased,
//
// and since t no worker of this replica has had work (claimed or finished any) and every one
// has found nothing to claim: so no window or job was claimable either, and nothing finished
// since could have queued more. Windows that wait for their settle pass are
// pending but not claimable, and are left for a later run. since is the t of an earlier call
// (zero: none) and the result the t for the next call.
func (r *run) exitCheck(sh shared, readAt, since time.Time) time.Time {
	if sh.Windows.Leased != int64(r.parked.count()) || sh.Sessions.Pending != 0 || sh.Sessions.Leased != 0 {
		return time.Time{}
	}
	if since.IsZero() {
		return readAt
	}
	switch r.activity.since(since) {
	case busy:
		return readAt
	case idle:
		r.log.Info("exit-on-last-event: every event up to the start is exported", "windows", sh.Windows, "sessions", sh.Sessions)
		r.stop(errExited)
	}
	return since
}
