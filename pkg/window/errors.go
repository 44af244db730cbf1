package window

import (
	"errors"
	"fmt"
)

// Errors returned by this package; check them with errors.Is. Returned errors wrap them with
// detail (which window, which token).
var (
	// ErrNoWork: nothing is claimable now. Wait (ingest's poll interval) and claim again.
	ErrNoWork = errors.New("window: no work to claim")
	// ErrPaused: ingest is paused, so claims return nothing. It matches ErrNoWork too.
	ErrPaused = fmt.Errorf("%w: ingest is paused", ErrNoWork)
	// ErrLeaseLost: the caller's fencing token is stale. The lease expired and another replica
	// claimed the work, or the lease was completed or released already. The caller must stop
	// working on the item at once: nothing it writes under that token is accepted.
	ErrLeaseLost = errors.New("window: lease lost (stale fencing token)")
	// ErrCancelled: the leased work was withdrawn (its epoch was reset or its replay cancelled).
	// It matches ErrLeaseLost too: the caller stops the same way.
	ErrCancelled = fmt.Errorf("%w: work cancelled", ErrLeaseLost)
	// ErrEpochChanged: a planning call named an epoch that is no longer the current one. Read
	// the current epoch and plan again.
	ErrEpochChanged = errors.New("window: epoch changed")
	// ErrNotFound: no such window, replay, session job or epoch.
	ErrNotFound = errors.New("window: not found")
	// ErrExists: a replay with that id exists already.
	ErrExists = errors.New("window: already exists")
	// ErrInvalid: an argument or a Config is not valid; the detail says which.
	ErrInvalid = errors.New("window: invalid argument")
)
