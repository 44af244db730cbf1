package teleportsim

import (
	"cmp"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Log is a simulated Teleport audit log with its session recordings. It keeps 24 bytes of
// metadata per audit event, sorted by time, and renders an event's JSON on demand from the seed
// and that metadata, byte-identical every time. All methods are safe for concurrent use.
type Log struct {
	opts    Options
	servers []server

	// Immutable after NewLog.
	base     []meta           // the generated audit events, sorted by key
	sessions []sessionRec     // base sessions, numbered from 0
	sids     map[string]int32 // session id -> number, base sessions
	lateKeys []eventKey       // base events flagged late, sorted
	// lateAt[i] is the unix nanosecond from which late event lateKeys[i] is visible;
	// math.MaxInt64 until a query covering it has been answered.
	lateAt  []atomic.Int64
	liveMix liveMix

	recMu    sync.Mutex
	recFirst map[int32]int64 // session -> time of the first SessionEvents request (RecordingDelay)

	daysMu sync.Mutex
	days   map[int64]*dayChunks // export chunks of a day (days since the epoch), built lazily

	// mu guards the state RunLive appends to.
	mu           sync.RWMutex
	live         []meta // live audit events, sorted by key (times never decrease)
	liveSessions []sessionRec
	liveSids     map[string]int32
	pending      []meta // live session events scheduled for later, sorted by time (gen unset)
	liveChunks   []*liveChunk
	liveRNG      *rng
	nextGen      uint32
}

// meta is the compact record of one audit event; with the seed it determines the event.
type meta struct {
	t     int64  // unix nanoseconds of the "time" field
	gen   uint32 // generation number: unique per Log, the content key of standalone events
	grp   int32  // session (or, with flagBurst, burst) the event belongs to; -1 for none
	typ   evType
	sub   uint8 // joiner of a session.join/leave, position in a burst
	flags uint8
}

const (
	flagLate  uint8 = 1 << iota // hidden from Search and Export until triggered (LateEvents)
	flagLarge                   // hundreds of KiB (LargeEvents)
	flagHuge                    // over 1 MiB (HugeEvents)
	flagBurst                   // a failed login of burst grp
)

// eventKey orders audit events: by time, ties broken by generation number. Search cursors hold
// one, so events sharing a timestamp page without loss or repetition.
type eventKey struct {
	t   int64
	gen uint32
}

func (m meta) key() eventKey { return eventKey{m.t, m.gen} }

func cmpKey(a, b eventKey) int {
	if c := cmp.Compare(a.t, b.t); c != 0 {
		return c
	}
	return cmp.Compare(a.gen, b.gen)
}

func cmpMeta(a, b meta) int { return cmpKey(a.key(), b.key()) }

// render returns the event m describes.
func (l *Log) render(m meta) Event {
	switch {
	case m.flags&flagBurst != 0:
		return l.renderBurstEvent(m.grp, int(m.sub))
	case m.grp >= 0:
		p := l.planSession(m.grp)
		return l.renderSessionEvent(&p, m.typ, int(m.sub), KindAudit)
	default:
		return l.renderStandalone(m)
	}
}

// Len returns the number of audit events the Log holds: Count after NewLog, plus those RunLive
// appended. Late events count even while hidden; session recordings do not count.
func (l *Log) Len() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.base) + len(l.live)
}

// liveSnapshot returns the live events appended so far. The slice is never written below its
// length again, so it may be read without the lock.
func (l *Log) liveSnapshot() []meta {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.live[:len(l.live):len(l.live)]
}

// lateVisible reports whether the late event m is visible at now.
func (l *Log) lateVisible(m meta, now int64) bool {
	i, ok := slices.BinarySearchFunc(l.lateKeys, m.key(), cmpKey)
	return ok && now >= l.lateAt[i].Load()
}

// triggerLate starts the delay of every late event with from <= time <= to whose delay has not
// started: they become visible LateDelay after now.
func (l *Log) triggerLate(from, to, now int64) {
	i, _ := slices.BinarySearchFunc(l.lateKeys, eventKey{from, 0}, cmpKey)
	at := addSat(now, int64(l.opts.LateDelay))
	for ; i < len(l.lateKeys) && l.lateKeys[i].t <= to; i++ {
		l.lateAt[i].CompareAndSwap(math.MaxInt64, at)
	}
}

// visible reports whether audit event m can be returned at now.
func (l *Log) visible(m meta, now int64) bool {
	return m.flags&flagLate == 0 || l.lateVisible(m, now)
}

// addSat returns a+b for b >= 0, saturating at math.MaxInt64-1 (math.MaxInt64 means never).
func addSat(a, b int64) int64 {
	if a > math.MaxInt64-1-b {
		return math.MaxInt64 - 1
	}
	return a + b
}

// unixNanos returns t in unix nanoseconds, clamped to the int64 range (time.Time{} included).
func unixNanos(t time.Time) int64 {
	switch {
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}
