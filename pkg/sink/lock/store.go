package lock

import (
	"context"
	_ "embed" // the Lua scripts
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The Lua scripts live in lua/, each with the keys and arguments it takes at its top. Redis
// runs a script atomically: replicas running the same script at once see each other's writes
// in full or not at all.
var (
	//go:embed lua/count.lua
	countLua    string
	countScript = redis.NewScript(countLua)
	//go:embed lua/settle.lua
	settleLua    string
	settleScript = redis.NewScript(settleLua)
)

// Tuning of the Redis state that Config does not expose.
const (
	// pendingTTL is how long a claim waits to be settled before it expires and a failed login
	// of the target (the claiming event's redelivery among them) may claim again: longer than
	// an UpsertLock call takes, short enough that a replica that died between claim and
	// UpsertLock delays the lock little. It matches the shipper's default AckWait, after
	// which JetStream redelivers the dead replica's batch.
	pendingTTL = 30 * time.Second
	// lateness is how far behind the newest failed login of a target a failed login may come
	// and still count: it covers replicas that deliver neighbouring batches out of order, and
	// redeliveries after AckWait and backoff.
	lateness = time.Hour
	// maxFailures caps the failed logins kept per target, the oldest dropped first, so that a
	// sustained attack on one user cannot grow its set without bound.
	maxFailures = 10000
)

// countState is what count did with a failed login.
type countState int

const (
	counted   countState = iota // recorded for the first time
	duplicate                   // recorded before: a redelivery or a repeat within the batch
	late                        // older than the target's newest failed login by more than Period plus lateness
)

func (s countState) String() string {
	switch s {
	case counted:
		return "counted"
	case duplicate:
		return "duplicate"
	case late:
		return "late"
	}
	return "unknown"
}

// claim is what a failed login did about its target's lock.
type claim int

const (
	noClaim  claim = iota // no lock to issue, or one claimed or issued already
	claimed               // it claimed the lock: the caller calls UpsertLock, then settles
	inFlight              // this same event claimed the lock elsewhere, unsettled as yet
)

// verdict is count's answer for one failed login.
type verdict struct {
	state countState
	claim claim
	// most is the most failed logins count found in one window around this one; 0 when it did
	// not look because the target's lock was claimed or issued already.
	most int64
	// wait, with inFlight, is when to look again: when the other claim expires, at most a
	// tenth of pendingTTL from now, since it is usually settled within milliseconds and each
	// look costs the event one of its JetStream deliveries.
	wait time.Duration
}

// store is the Sink's state in Redis (see doc.go). It is safe for concurrent use.
type store struct {
	rdb        redis.UniversalClient
	keys       keys
	cfg        Config
	pendingTTL time.Duration
}

// count records logins, which must have distinct ids, in one script call, and returns one
// verdict per login, in order.
func (s *store) count(ctx context.Context, logins []failedLogin) ([]verdict, error) {
	keys := make([]string, 0, 2*len(logins))
	args := make([]any, 0, 5+2*len(logins))
	args = append(args, millis(s.cfg.Period), strconv.Itoa(s.cfg.FailedAttempts), millis(lateness),
		strconv.Itoa(maxFailures), millis(s.pendingTTL))
	for _, l := range logins {
		keys = append(keys, s.keys.failures(l.target), s.keys.marker(l.target))
		args = append(args, l.id, strconv.FormatInt(l.at.UnixMilli(), 10))
	}
	reply, err := countScript.Run(ctx, s.rdb, keys, args...).Int64Slice()
	if err != nil {
		return nil, err
	}
	if len(reply) != 3*len(logins) {
		return nil, fmt.Errorf("count script answered %d values for %d failed logins", len(reply), len(logins))
	}
	out := make([]verdict, len(logins))
	for i := range out {
		v := verdict{state: countState(reply[3*i]), claim: claim(reply[3*i+1])}
		if v.claim == inFlight {
			v.wait = min(time.Duration(max(reply[3*i+2], 0))*time.Millisecond, s.pendingTTL/10)
		} else {
			v.most = reply[3*i+2]
		}
		out[i] = v
	}
	return out, nil
}

// settlement is the end of one claim: the failed login that claimed, and whether Teleport
// took the lock.
type settlement struct {
	login  failedLogin
	locked bool
}

// settle records the end of claims in one script call (see lua/settle.lua).
func (s *store) settle(ctx context.Context, claims []settlement) error {
	keys := make([]string, 0, len(claims))
	args := make([]any, 0, 1+2*len(claims))
	args = append(args, millis(s.cfg.issuedTTL()))
	for _, c := range claims {
		keys = append(keys, s.keys.marker(c.login.target))
		locked := "0"
		if c.locked {
			locked = "1"
		}
		args = append(args, c.login.id, locked)
	}
	return settleScript.Run(ctx, s.rdb, keys, args...).Err()
}

// millis is d in whole milliseconds, at least 1 (Redis refuses a zero expiry), as a decimal
// string.
func millis(d time.Duration) string {
	return strconv.FormatInt(max(d.Milliseconds(), 1), 10)
}
