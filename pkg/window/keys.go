package window

import "strconv"

// hashTag is the Redis Cluster hash tag in every key (after the prefix), so that all keys any
// one script touches live in one slot. The whole coordination state of ingest is small (one
// hash per window or session job), so one slot is no bottleneck.
const hashTag = "{ingest}"

// keys builds the key names documented in doc.go.
type keys struct {
	base string // prefix + hashTag + ":"
}

func newKeys(prefix string) keys { return keys{base: prefix + hashTag + ":"} }

func (k keys) meta() string              { return k.base + "meta" }
func (k keys) tokens() string            { return k.base + "tokens" }
func (k keys) window(id string) string   { return k.base + "win:" + id }
func (k keys) due(q queue) string        { return k.base + "due:" + string(q) }
func (k keys) counts(q queue) string     { return k.base + "counts:" + string(q) }
func (k keys) index(q queue) string      { return k.base + "index:" + string(q) }
func (k keys) replay(id string) string   { return k.base + "replay:" + id }
func (k keys) replays() string           { return k.base + "replays" }
func (k keys) activeReplays() string     { return k.base + "replays-active" }
func (k keys) session(id string) string  { return k.base + "session:" + id }
func (k keys) sessionDue() string        { return k.base + "sessions-due" }
func (k keys) sessionCounts() string     { return k.base + "sessions-counts" }
func (k keys) leader(name string) string { return k.base + "leader:" + name }
func (k keys) terms(name string) string  { return k.base + "leader-terms:" + name }
func (k keys) modes() string             { return k.base + "modes" }

// queue names the set of windows one source of work created: an epoch's ingest ("e<n>") or a
// replay ("r:<id>"). Each queue has its own due set, counts and index.
type queue string

func epochQueue(epoch int64) queue { return queue("e" + strconv.FormatInt(epoch, 10)) }
func replayQueue(id string) queue  { return queue("r:" + id) }
