package window

import (
	_ "embed" // the Lua scripts
	"github.com/redis/go-redis/v9"
)

// The Lua scripts live in lua/, one per operation, each with the keys and arguments it takes
// at its top. Every key a script touches is passed in KEYS and carries the hash tag, so each
// script runs in one Cluster slot. Redis runs a script atomically: no other command sees its
// intermediate states.

//go:embed lua/prelude.lua
var preludeLua string

var (
	//go:embed lua/claim.lua
	claimLua string
	//go:embed lua/renew.lua
	renewLua string
	//go:embed lua/commit.lua
	commitLua string
	//go:embed lua/release.lua
	releaseLua string
	//go:embed lua/complete.lua
	completeLua string
	//go:embed lua/plan.lua
	planLua string
	//go:embed lua/replay.lua
	replayLua string
	//go:embed lua/replay_events.lua
	replayEventsLua string
	//go:embed lua/cancel_replay.lua
	cancelReplayLua string
	//go:embed lua/init_epoch.lua
	initEpochLua string
	//go:embed lua/reset_epoch.lua
	resetEpochLua string
	//go:embed lua/enqueue_session.lua
	enqueueSessionLua string
	//go:embed lua/finish_session.lua
	finishSessionLua string
	//go:embed lua/leader_acquire.lua
	leaderAcquireLua string
	//go:embed lua/leader_renew.lua
	leaderRenewLua string
	//go:embed lua/leader_resign.lua
	leaderResignLua string
)

// script prepends the shared functions to a script body.
func script(body string) *redis.Script { return redis.NewScript(preludeLua + "\n" + body) }

var (
	claimScript           = script(claimLua)
	renewScript           = script(renewLua)
	commitScript          = script(commitLua)
	releaseScript         = script(releaseLua)
	completeScript        = script(completeLua)
	planScript            = script(planLua)
	replayScript          = script(replayLua)
	addReplayEventsScript = script(replayEventsLua)
	cancelReplayScript    = script(cancelReplayLua)
	initEpochScript       = script(initEpochLua)
	resetEpochScript      = script(resetEpochLua)
	enqueueSessionScript  = script(enqueueSessionLua)
	finishSessionScript   = script(finishSessionLua)
	leaderAcquireScript   = script(leaderAcquireLua)
	leaderRenewScript     = script(leaderRenewLua)
	leaderResignScript    = script(leaderResignLua)
)
