// Package lock is the lock sink: teleport-event-handler's lock feature (lock-enabled,
// lock-failed-attempts-count, lock-period, lock-for) for any number of shipper replicas. It
// counts failed logins in Redis, shared by every replica, and locks the user in Teleport
// with UpsertLock once they fail too often.
//
// # Failed logins
//
// A failed login is a user.login event whose "success" is false. Its target is its "user"
// and, when the event has one, its "login" (the OS login; most login failures have none). A
// failed login without a "user" is not counted: a lock on its login alone would lock
// everyone who uses that login. Every other event calls for nothing and is Delivered.
// teleport-event-handler keys its counter by the OS login alone, so that all users without
// one share a counter; the lock sink counts per user and login, the pair the lock targets.
//
// # Counting
//
// The failed logins of a target are counted by event time in a sliding window: the target
// is locked by the failed login that makes more than FailedAttempts of them within less than
// Period of each other (as teleport-event-handler, which locks once its limiter's
// FailedAttempts tokens are spent: at the 4th failure for 3). teleport-event-handler's limiter
// uses fixed windows, which miss a burst split by a window boundary; this window does not.
// Counting by event time makes the result independent of delivery order (within the reach
// below) and of when the events are read: ingest lag or a backfill neither merges nor splits
// bursts.
//
// Each failed login is recorded by its event id (the uid) in a sorted set, so a redelivered
// or duplicated event is never counted twice. A failed login that arrives more than Period
// plus an hour after a newer failed login of its target is too late to count (kept
// failures reach that far back, which covers replicas delivering neighbouring batches out of
// order and redeliveries after AckWait and backoff); it is Delivered and counted as "late" in
// the metrics. At most 10000 failed logins are kept per target.
//
// # One lock per target and period
//
// The script that counts a batch also claims the lock, atomically: the failed login that
// crosses the threshold sets the target's marker to "pending:<event id>" (SET NX semantics,
// expiring after 30 s), and only it calls UpsertLock. Replicas that race see the claim and
// call nothing. Afterwards one more script settles the claim: "issued:<event id>" for one
// Period (or LockFor, when that is shorter, so that failed logins after an expired lock can
// lock again) when Teleport took the lock, or no marker when UpsertLock failed, so that the
// event's retry claims again. Locks have a name derived from the target alone
// ("auditpipe-failed-logins-<hash of user and login>"), so even two upserts of one target
// leave one lock, with the later expiry.
//
// A replica that dies between claim and UpsertLock leaves a pending claim and an unacked
// event. Other failed logins of the target leave the claim alone. The event's redelivery
// (JetStream redelivers after AckWait) finds its own id in the claim: it cannot tell a dead
// claimer from one still calling UpsertLock, so it is Retry with RetryAfter until the claim
// expires (looking again at most every 3 s), then claims and locks. Without a redelivery the
// target's next failed login locks once the claim has expired. The same Retry meets a
// duplicate of a claiming event delivered while its UpsertLock is in flight, and turns to
// Delivered once the claim is settled.
//
// A lock targets the user, and the login when the failed login named one, with
// teleport-event-handler's message ([Message]) and an expiry LockFor after it is issued (none
// when LockFor is zero).
//
// # Outcomes
//
// A batch reaches Redis in one script call, with the failed logins of all its events; a batch
// without failed logins makes no call and is Delivered. When the call fails, every event of
// the batch shares its outcome: NOAUTH, WRONGPASS and NOPERM are Retry with Blocked (Redis
// refuses the shipper's credentials or ACL); LOADING, BUSY, TRYAGAIN, CLUSTERDOWN,
// MASTERDOWN, READONLY, MISCONF, OOM, NOREPLICAS, too many clients, connection errors,
// timeouts and the end of ctx are Retry; any other error reply (WRONGTYPE: something else
// wrote under the key prefix) is Rejected. A user.login event whose fields have the wrong
// types is Rejected without a call.
//
// Once the batch is counted, every event is Delivered except those that claimed a lock and
// whose UpsertLock failed, as teleportsrc.Classify reads the error: access denied (the
// identity's role lacks the lock resource with create and update), expired credentials and
// an address without UpsertLock are Retry with Blocked; a lock Teleport refuses as invalid is
// Rejected; anything else (Unavailable, a lost connection, a timeout) is Retry.
//
// # Redis keys
//
// Every key is "<prefix>{lock}:<name>", prefix being redis.key-prefix. The hash tag {lock}
// puts every key in one Redis Cluster slot, so that one script call counts a whole batch.
// <target> is the 32 hex digits of the SHA-256 of the user's length, ":", user and login.
//
//	failures:<target>  sorted set: the target's failed logins, event id scored by event time
//	                   (unix ms); expires Period plus an hour after the last write
//	marker:<target>    string: "pending:<event id>" (a claim, 30 s) or "issued:<event id>"
//	                   (Period, or LockFor when shorter)
//
// # Metrics
//
// With [WithRegisterer]: auditpipe_lock_failed_logins_total{result} (counted, duplicate,
// late), auditpipe_lock_locks_issued_total, and auditpipe_lock_errors_total{op} (redis:
// counting or settling failed; teleport: UpsertLock failed).
package lock
