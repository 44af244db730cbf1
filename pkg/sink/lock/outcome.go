package lock

import (
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/auditpipe/auditpipe/pkg/sink"
	"github.com/auditpipe/auditpipe/pkg/teleportsrc"
)

// redisResult is the outcome of a batch whose Redis request failed with err:
//   - NOAUTH, WRONGPASS, NOPERM: Retry with Blocked; Redis refuses the shipper's credentials or
//     its ACL user may not run scripts on the prefix's keys, until an operator acts;
//   - an error reply that says "try again" (LOADING, BUSY, TRYAGAIN, CLUSTERDOWN, MASTERDOWN,
//     READONLY, MISCONF, OOM, NOREPLICAS, max clients), a connection error, a timeout or the
//     end of ctx: Retry;
//   - any other error reply (WRONGTYPE, a script error): Rejected, as Redis refuses this
//     request as it is.
func redisResult(err error) sink.Result {
	reason := "redis: " + err.Error()
	var reply redis.Error
	switch {
	case redis.IsAuthError(err), redis.IsPermissionError(err):
		return sink.Result{Outcome: sink.Retry, Reason: reason, Blocked: true}
	case transientRedis(err):
		return sink.Result{Outcome: sink.Retry, Reason: reason}
	case errors.As(err, &reply):
		return sink.Result{Outcome: sink.Rejected, Reason: reason}
	}
	return sink.Result{Outcome: sink.Retry, Reason: reason}
}

// transientRedis reports whether err is an error reply that clears by itself.
func transientRedis(err error) bool {
	_, moved := redis.IsMovedError(err)
	_, ask := redis.IsAskError(err)
	return moved || ask ||
		redis.IsLoadingError(err) || redis.IsReadOnlyError(err) || redis.IsClusterDownError(err) ||
		redis.IsTryAgainError(err) || redis.IsMasterDownError(err) || redis.IsMaxClientsError(err) ||
		redis.IsOOMError(err) || redis.IsNoReplicasError(err) ||
		redis.HasErrorPrefix(err, "BUSY") || redis.HasErrorPrefix(err, "MISCONF")
}

// teleportResult is the outcome of a failed login whose UpsertLock failed with err, as
// teleportsrc.Classify reads Teleport's errors:
//   - Fatal (access denied: the identity's role lacks lock create/update; expired or bad
//     credentials) and NotImplemented (the address serves no UpsertLock): Retry with Blocked;
//   - BadCursor (InvalidArgument: Teleport refuses this lock as it is): Rejected;
//   - anything else (Unavailable, a lost connection, a timeout, the end of ctx): Retry.
func teleportResult(t target, err error) sink.Result {
	reason := fmt.Sprintf("lock user %q (login %q): %v", t.user, t.login, err)
	switch teleportsrc.Classify(err) {
	case teleportsrc.Fatal, teleportsrc.NotImplemented:
		return sink.Result{Outcome: sink.Retry, Reason: reason, Blocked: true}
	case teleportsrc.BadCursor:
		return sink.Result{Outcome: sink.Rejected, Reason: reason}
	}
	return sink.Result{Outcome: sink.Retry, Reason: reason}
}
