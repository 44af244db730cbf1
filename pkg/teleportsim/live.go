package teleportsim

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"
)

// liveTick is how often RunLive appends the events that are due.
const liveTick = 10 * time.Millisecond

// liveMix draws the types of live events with the weights of Options.Mix. Joins are not drawn
// on their own: each live session brings as many as the session.join weight implies.
type liveMix struct {
	types     []evType
	weights   []int
	total     int
	joinRatio float64 // mean session.join events per session
}

func newLiveMix(mix map[string]int) liveMix {
	var m liveMix
	for t := range typeCount {
		if w := mix[types[t].name]; types[t].mixable && t != tSessionJoin && w > 0 {
			m.types = append(m.types, t)
			m.weights = append(m.weights, w)
			m.total += w
		}
	}
	if s := mix["session.start"]; s > 0 {
		m.joinRatio = float64(mix["session.join"]) / float64(s)
	}
	return m
}

func (m *liveMix) pick(r *rng) evType {
	x := r.intn(m.total)
	for i, w := range m.weights {
		if x < w {
			return m.types[i]
		}
		x -= w
	}
	return m.types[len(m.types)-1]
}

// liveChunk is an export chunk of live events. It is open (being filled, not listed) until
// sealed; a sealed chunk never changes.
type liveChunk struct {
	day     int64 // days since the epoch
	name    string
	opened  int64 // clock time of its first event
	sealed  bool
	members []meta
}

// RunLive appends new audit events, timed at the Log's clock (truncated to the millisecond), at
// about perSecond events a second, until ctx is done; it then returns nil. Types follow
// Options.Mix. A live session.start schedules its session.join/leave, session.end, session.data
// and session.upload a few seconds later, appended when due (and not at all once every RunLive
// has returned); its recording is available once the upload is appended. Live events are
// searchable at once, never late, and exported in chunks sealed by Options.LiveFlush. A
// perSecond that is not a positive finite number is ErrBadRequest. Several RunLive calls may run
// at once; each adds its own rate.
func (l *Log) RunLive(ctx context.Context, perSecond float64) error {
	if !(perSecond > 0) || math.IsInf(perSecond, 1) {
		return fmt.Errorf("%w: live rate %v", ErrBadRequest, perSecond)
	}
	if l.liveMix.total == 0 {
		return fmt.Errorf("%w: Mix has no positive weight", ErrInvalidOptions)
	}
	tick := time.NewTicker(liveTick)
	defer tick.Stop()
	start, emitted := time.Now(), 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		due := int(perSecond*time.Since(start).Seconds()) - emitted
		emitted += l.appendLive(due)
	}
}

// appendLive appends the scheduled events that are due, then new events until budget events
// were appended in all. It returns how many it appended.
func (l *Log) appendLive(budget int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	clock := unixNanos(l.opts.Now())
	now := clock - clock%int64(time.Millisecond)
	if n := len(l.live); n > 0 && now < l.live[n-1].t {
		now = l.live[n-1].t // times never decrease, so the live slice stays sorted
	}
	count := 0
	due := 0
	for due < len(l.pending) && l.pending[due].t <= now {
		m := l.pending[due]
		l.push(m, clock)
		if m.typ == tSessionUpload {
			l.liveSessions[int(m.grp)-len(l.sessions)].uploaded = true
		}
		due++
	}
	l.pending = slices.Delete(l.pending, 0, due)
	count += due
	for count < budget {
		count += l.startLive(now, clock)
	}
	return count
}

// startLive appends one new live event at now; a session.start also schedules the rest of its
// session. It returns the number of events appended (1). Requires l.mu held.
func (l *Log) startLive(now, clock int64) int {
	t := l.liveMix.pick(l.liveRNG)
	if t != tSessionStart {
		l.push(meta{t: now, grp: -1, typ: t}, clock)
		return 1
	}
	joins := int(l.liveMix.joinRatio)
	if l.liveRNG.chance(l.liveMix.joinRatio - float64(joins)) {
		joins++
	}
	n := int32(len(l.sessions) + len(l.liveSessions))
	rec := sessionRec{start: now, joins: uint8(min(joins, maxJoinsPerSession)), live: true}
	l.liveSessions = append(l.liveSessions, rec)
	p := l.planSessionRec(n, rec)
	l.liveSids[p.sid] = n
	l.push(meta{t: now, grp: n, typ: tSessionStart}, clock)
	schedule := func(t evType, at int64, sub int) {
		m := meta{t: at, grp: n, typ: t, sub: uint8(sub)}
		// After every pending event at the same time, so that ties keep their order.
		i, _ := slices.BinarySearchFunc(l.pending, at+1, func(e meta, t int64) int {
			if e.t < t {
				return -1
			}
			return 1
		})
		l.pending = slices.Insert(l.pending, i, m)
	}
	for i, j := range p.joiners {
		schedule(tSessionJoin, j.joinAt, i)
		schedule(tSessionLeave, j.leaveAt, i)
	}
	schedule(tSessionEnd, p.end, 0)
	schedule(tSessionData, p.end, 0)
	schedule(tSessionUpload, p.upload, 0)
	return 1
}

// push appends a live event and files it in the open export chunk. Requires l.mu held.
func (l *Log) push(m meta, clock int64) {
	m.gen = l.nextGen
	l.nextGen++
	l.live = append(l.live, m)
	day := floorDiv(m.t, int64(24*time.Hour))
	var c *liveChunk
	if k := len(l.liveChunks); k > 0 {
		c = l.liveChunks[k-1]
	}
	if c != nil && !c.sealed && (c.day != day || len(c.members) >= l.opts.ChunkSize || clock-c.opened >= int64(l.opts.LiveFlush)) {
		c.sealed = true
	}
	if c == nil || c.sealed {
		name := newRNG(l.opts.Seed, rngLiveChunk, uint64(len(l.liveChunks))).uuid()
		c = &liveChunk{day: day, name: name, opened: clock}
		l.liveChunks = append(l.liveChunks, c)
	}
	c.members = append(c.members, m)
}

// sealedLiveChunks seals the open live chunk if it is older than LiveFlush at now, and returns
// the sealed live chunks of day d.
func (l *Log) sealedLiveChunks(d, now int64) []*liveChunk {
	l.mu.Lock()
	defer l.mu.Unlock()
	if k := len(l.liveChunks); k > 0 {
		if c := l.liveChunks[k-1]; !c.sealed && now-c.opened >= int64(l.opts.LiveFlush) {
			c.sealed = true
		}
	}
	var out []*liveChunk
	for _, c := range l.liveChunks {
		if c.sealed && c.day == d {
			out = append(out, c)
		}
	}
	return out
}

// floorDiv divides rounding toward negative infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
