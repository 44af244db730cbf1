package teleportsrc

import (
	"context"
	"fmt"

	apitypes "github.com/gravitational/teleport/api/types"
)

// Values of the "method" label of auditpipe_teleport_errors_total for the lock calls.
const (
	methodUpsertLock = "upsert_lock"
	methodGetLocks   = "get_locks"
)

// UpsertLock creates lock, or replaces the lock of the same name, with one call: a failure is
// returned at once, not retried, so that the caller chooses when to try again (the lock sink
// hands the event back to the shipper, whose backoff paces the retries). lock must be a
// *types.LockV2, as Teleport's client requires; anything else is ErrInvalidArgument.
//
// The identity's role needs the lock resource with the create and update verbs; without them
// Teleport answers access denied, which Classify calls Fatal. A lock Teleport refuses (no
// target) is BadCursor; Unavailable and lost connections are Retry.
func (c *Client) UpsertLock(ctx context.Context, lock apitypes.Lock) error {
	if _, ok := lock.(*apitypes.LockV2); !ok {
		return fmt.Errorf("%w: lock of type %T", ErrInvalidArgument, lock)
	}
	if err := c.clt.UpsertLock(ctx, lock); err != nil {
		return c.failed(ctx, methodUpsertLock, err)
	}
	return nil
}

// GetLocks returns the locks that at least one of targets matches (see types.LockTarget.Match),
// or every lock when targets is empty; with inForceOnly, only those in force now. The identity's
// role needs the lock resource with the list and read verbs. Transient failures are retried
// (see WithRetryTimeout).
func (c *Client) GetLocks(ctx context.Context, inForceOnly bool, targets ...apitypes.LockTarget) ([]apitypes.Lock, error) {
	var locks []apitypes.Lock
	err := c.retry(ctx, methodGetLocks, c.retryTimeout, func() (bool, error) {
		var err error
		locks, err = c.clt.GetLocks(ctx, inForceOnly, targets...)
		return false, err
	})
	if err != nil {
		return nil, err
	}
	return locks, nil
}
