package lock

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// hashTag is the Redis Cluster hash tag in every key (after the prefix): the one script call
// of a batch touches the keys of every target in it, so they must share a slot. Failed logins
// are a small share of the audit log, so one slot is no bottleneck.
const hashTag = "{lock}"

// keys builds the key names documented in doc.go.
type keys struct {
	base string // prefix + hashTag + ":"
}

func newKeys(prefix string) keys { return keys{base: prefix + hashTag + ":"} }

// failures is the sorted set of a target's failed logins: event ids scored by event time.
func (k keys) failures(t target) string { return k.base + "failures:" + t.id() }

// marker is the string that says whether a target's lock is claimed or issued.
func (k keys) marker(t target) string { return k.base + "marker:" + t.id() }

// target is who a lock is for: a Teleport user and, when the failed login named one, the OS
// login.
type target struct {
	user  string
	login string
}

// id names the target in keys and lock names: the hex of the first 16 bytes of the SHA-256 of
// "<length of user>:<user><login>", an encoding no two pairs share. User and login may hold
// any character (":", "{", "/", spaces), which neither a key's hash tag nor a Teleport
// resource name tolerates everywhere.
func (t target) id() string {
	sum := sha256.Sum256([]byte(strconv.Itoa(len(t.user)) + ":" + t.user + t.login))
	return hex.EncodeToString(sum[:16])
}
