package teleportsim

import (
	"fmt"
	"math"
	"slices"
	"sync/atomic"
	"time"
)

const (
	// minSessionRoom keeps base sessions from starting in the last milliseconds of the range,
	// so that all their events fit strictly before To, in order.
	minSessionRoom = 20 * time.Millisecond
	// loginsPerBurst: one burst of failed logins per this many user.login events.
	loginsPerBurst = 25
)

// NewLog generates a log as Options describe. It returns an error wrapping ErrInvalidOptions
// when the options are inconsistent, e.g. when the realism switches ask for more events than
// Count provides. One million events take well under a second and about 30 MB.
func NewLog(opts Options) (*Log, error) {
	o, err := opts.normalized()
	if err != nil {
		return nil, err
	}
	l := &Log{
		opts:     o,
		servers:  newServers(o.Seed, o.Unicode),
		sids:     map[string]int32{},
		recFirst: map[int32]int64{},
		days:     map[int64]*dayChunks{},
		liveSids: map[string]int32{},
		liveRNG:  newRNG(o.Seed, rngLive, 0),
		liveMix:  newLiveMix(o.Mix),
	}
	if err := l.generate(); err != nil {
		return nil, err
	}
	return l, nil
}

// allocate splits count into occurrences per type ("units": a session.start unit is four
// audit events, a session.join unit two) in proportion to the mix. Rounding leftovers go to the
// single-event types with the largest remainders.
func allocate(count int, mix map[string]int) [typeCount]int {
	var units [typeCount]int
	var wsum float64
	for t := range typeCount {
		wsum += float64(mix[types[t].name] * types[t].perUnit)
	}
	if count == 0 || wsum == 0 {
		return units
	}
	var rem [typeCount]float64
	for t := range typeCount {
		if pu := types[t].perUnit; pu > 0 {
			exact := float64(count) * float64(mix[types[t].name]*pu) / wsum
			units[t] = int(exact) / pu
			rem[t] = exact - float64(units[t]*pu)
		}
	}
	units[tSessionJoin] = min(units[tSessionJoin], maxJoinsPerSession*units[tSessionStart])
	left := count
	var singles []evType
	for t := range typeCount {
		left -= units[t] * types[t].perUnit
		if types[t].perUnit == 1 && mix[types[t].name] > 0 {
			singles = append(singles, t)
		}
	}
	slices.SortStableFunc(singles, func(a, b evType) int {
		switch {
		case rem[a] > rem[b]:
			return -1
		case rem[a] < rem[b]:
			return 1
		}
		return 0
	})
	for i := 0; left > 0 && len(singles) > 0; i++ {
		units[singles[i%len(singles)]]++
		left--
	}
	return units
}

// generate fills the base log: standalone events, bursts of failed logins and sessions, then the
// realism switches, then sorts.
func (l *Log) generate() error {
	o := l.opts
	units := allocate(o.Count, o.Mix)
	layout := newRNG(o.Seed, rngLayout, 0)
	from := o.From.UnixNano()
	spanMs := o.To.Sub(o.From).Milliseconds()
	ms := int64(time.Millisecond)

	nLogin := units[tUserLogin]
	nBursts := nLogin / loginsPerBurst
	if nBursts == 0 && nLogin >= 10 {
		nBursts = 1
	}
	bursts := make([]burstPlan, nBursts)
	for b := range bursts {
		bursts[b] = l.planBurst(int32(b))
		nLogin -= len(bursts[b].at)
	}

	// Standalone events: exact counts per type, in random order, at random times.
	var kinds []evType
	for t := range typeCount {
		n := units[t]
		if t == tUserLogin {
			n = nLogin
		}
		if types[t].perUnit == 1 {
			kinds = append(kinds, slices.Repeat([]evType{t}, n)...)
		}
	}
	for i := len(kinds) - 1; i > 0; i-- {
		j := layout.intn(i + 1)
		kinds[i], kinds[j] = kinds[j], kinds[i]
	}
	metas := make([]meta, 0, o.Count)
	for _, t := range kinds {
		metas = append(metas, meta{t: from + ms*layout.int64n(spanMs), gen: uint32(len(metas)), grp: -1, typ: t})
	}
	nStandalone := len(metas)
	for b, p := range bursts {
		for i, at := range p.at {
			metas = append(metas, meta{t: at, gen: uint32(len(metas)), grp: int32(b), typ: tUserLogin, sub: uint8(i), flags: flagBurst})
		}
	}

	// Sessions: start times, joins spread over them, then their audit events.
	nSess := units[tSessionStart]
	l.sessions = make([]sessionRec, nSess)
	for s := range l.sessions {
		r := newRNG(o.Seed, rngSessionStart, uint64(s))
		l.sessions[s].start = from + ms*r.int64n(spanMs-minSessionRoom.Milliseconds())
	}
	for range units[tSessionJoin] {
		s := layout.intn(nSess)
		for l.sessions[s].joins >= maxJoinsPerSession {
			s = (s + 1) % nSess
		}
		l.sessions[s].joins++
	}
	for s := range l.sessions {
		p := l.planSession(int32(s))
		l.sids[p.sid] = int32(s)
		add := func(t evType, at int64, sub int) {
			metas = append(metas, meta{t: at, gen: uint32(len(metas)), grp: int32(s), typ: t, sub: uint8(sub)})
		}
		add(tSessionStart, p.start, 0)
		for i, j := range p.joiners {
			add(tSessionJoin, j.joinAt, i)
			add(tSessionLeave, j.leaveAt, i)
		}
		add(tSessionEnd, p.end, 0)
		add(tSessionData, p.end, 0)
		add(tSessionUpload, p.upload, 0)
	}

	if err := l.applySwitches(metas[:nStandalone], layout); err != nil {
		return err
	}
	if o.LateEvents > len(metas) {
		return fmt.Errorf("%w: LateEvents %d > %d events", ErrInvalidOptions, o.LateEvents, len(metas))
	}
	for _, i := range sample(layout, len(metas), o.LateEvents) {
		metas[i].flags |= flagLate
	}
	metas = sortByKey(metas)
	l.base = metas
	l.nextGen = uint32(len(metas))

	for _, m := range metas {
		if m.flags&flagLate != 0 {
			l.lateKeys = append(l.lateKeys, m.key())
		}
	}
	l.lateAt = make([]atomic.Int64, len(l.lateKeys))
	for i := range l.lateAt {
		l.lateAt[i].Store(math.MaxInt64)
	}
	return nil
}

// applySwitches turns randomly chosen standalone events into the special events the realism
// switches ask for: huge, large, day-boundary and identical-timestamp events.
func (l *Log) applySwitches(standalone []meta, layout *rng) error {
	o := l.opts
	var boundaries []int64
	if o.DayBoundaries {
		from, to := o.From.UnixNano(), o.To.UnixNano()
		for m := o.From.Truncate(24 * time.Hour); m.Before(o.To); m = m.Add(24 * time.Hour) {
			if mn := m.UnixNano(); mn >= from && mn < to {
				boundaries = append(boundaries, mn, mn)
				if mn-1 >= from {
					boundaries = append(boundaries, mn-1, mn-1)
				}
			}
		}
	}
	var runs []int64 // one shared timestamp per UTC day of the range
	if o.IdenticalTimestamps > 0 {
		for d := o.From.Truncate(24 * time.Hour); d.Before(o.To); d = d.Add(24 * time.Hour) {
			lo := max(d.UnixNano(), o.From.UnixNano())
			hi := min(d.Add(24*time.Hour).UnixNano(), o.To.UnixNano())
			if n := (hi - lo) / int64(time.Millisecond); n > 0 {
				runs = append(runs, lo+int64(time.Millisecond)*layout.int64n(n))
			}
		}
	}
	need := o.HugeEvents + o.LargeEvents + len(boundaries) + len(runs)*o.IdenticalTimestamps
	if need > len(standalone) {
		return fmt.Errorf("%w: the realism switches need %d standalone events, the mix gives %d",
			ErrInvalidOptions, need, len(standalone))
	}
	picks := sample(layout, len(standalone), need)
	next := func() *meta {
		m := &standalone[picks[0]]
		picks = picks[1:]
		return m
	}
	for range o.HugeEvents {
		m := next()
		m.typ, m.flags = tExec, m.flags|flagHuge
	}
	for i := range o.LargeEvents {
		m := next()
		m.typ, m.flags = tExec, m.flags|flagLarge
		if i%2 == 1 {
			m.typ = tDBQuery
		}
	}
	for _, t := range boundaries {
		next().t = t
	}
	for _, t := range runs {
		for range o.IdenticalTimestamps {
			next().t = t
		}
	}
	return nil
}

// sample returns k distinct indices of [0, n) in random order (a partial Fisher-Yates shuffle).
func sample(r *rng, n, k int) []int32 {
	if k <= 0 {
		return nil
	}
	idx := make([]int32, n)
	for i := range idx {
		idx[i] = int32(i)
	}
	for i := range k {
		j := i + r.intn(n-i)
		idx[i], idx[j] = idx[j], idx[i]
	}
	return idx[:k:k]
}

// sortByKey sorts metas whose gen equals their index by key (time, then gen), and returns the
// sorted slice (which may be a new one). It is a stable LSD radix sort on the time: stability
// keeps equal times in gen order. A million events sort in tens of milliseconds, where a
// comparison sort takes a second.
func sortByKey(metas []meta) []meta {
	if len(metas) < 2 {
		return metas
	}
	lo, hi := metas[0].t, metas[0].t
	for _, m := range metas {
		lo, hi = min(lo, m.t), max(hi, m.t)
	}
	span := uint64(hi - lo)
	tmp := make([]meta, len(metas))
	const bits = 16
	for shift := uint(0); shift < 64 && span>>shift > 0; shift += bits {
		var count [1<<bits + 1]int
		for _, m := range metas {
			count[(uint64(m.t-lo)>>shift)&(1<<bits-1)+1]++
		}
		for i := 1; i < len(count); i++ {
			count[i] += count[i-1]
		}
		for _, m := range metas {
			d := (uint64(m.t-lo) >> shift) & (1<<bits - 1)
			tmp[count[d]] = m
			count[d]++
		}
		metas, tmp = tmp, metas
	}
	return metas
}
