package teleportsim

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strings"
)

// Search answers one page of GetUnstructuredEvents: the visible audit events with
// q.From <= time <= q.To whose type is in q.Types (every type when empty), in q.Order, after
// the position q.StartKey names.
//
// A page holds at most q.Limit events (<= 0 means DefaultSearchLimit; above MaxSearchLimit is
// ErrBadRequest, as in Teleport) and stops before the event that would take its JSON past
// Options.PageBytes, but always holds at least one event. lastKey is empty when the range is
// exhausted; like Teleport's backends, a page cut by the limit or the byte budget carries a
// lastKey even when nothing follows, and the next page is then empty. Events sharing a timestamp
// are ordered by a hidden tie-breaker, so paging never repeats or skips one.
//
// lastKey is opaque and valid only for the same From, To, Types and Order (Limit may change); any
// other key is ErrBadCursor. From after To, or an unknown Order, is ErrBadRequest. Late events
// (Options.LateEvents) in the range are skipped, and this answered query starts their delay.
// Safe for concurrent use with every other method.
func (l *Log) Search(q SearchQuery) (page []Event, lastKey string, err error) {
	if q.From.After(q.To) {
		return nil, "", fmt.Errorf("%w: From %v is after To %v", ErrBadRequest, q.From, q.To)
	}
	if q.Order != Ascending && q.Order != Descending {
		return nil, "", fmt.Errorf("%w: unknown order %d", ErrBadRequest, q.Order)
	}
	if q.Limit > MaxSearchLimit {
		return nil, "", fmt.Errorf("%w: limit %d exceeds %d", ErrBadRequest, q.Limit, MaxSearchLimit)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultSearchLimit
	}
	from, to := unixNanos(q.From), unixNanos(q.To)
	qh := l.queryHash(q, from, to)
	var after *eventKey
	if q.StartKey != "" {
		k, err := decodeSearchKey(q.StartKey, qh)
		if err != nil {
			return nil, "", err
		}
		after = &k
	}
	var allow [typeCount]bool
	for _, name := range q.Types {
		if t, ok := typeByName[name]; ok {
			allow[t] = true
		}
	}
	filter := len(q.Types) > 0
	now := unixNanos(l.opts.Now())

	it := newMergeIter(l.base, l.liveSnapshot(), q.Order == Descending, from, to, after)
	size := 0
	var last eventKey
	for {
		m, ok := it.next()
		if !ok {
			lastKey = ""
			break
		}
		if (filter && !allow[m.typ]) || !l.visible(m, now) {
			continue
		}
		ev := l.render(m)
		if len(page) > 0 && size+len(ev.JSON) > l.opts.PageBytes {
			lastKey = encodeSearchKey(last, qh)
			break
		}
		page = append(page, ev)
		size += len(ev.JSON)
		last = m.key()
		if len(page) == limit {
			lastKey = encodeSearchKey(last, qh)
			break
		}
	}
	l.triggerLate(from, to, now)
	return page, lastKey, nil
}

// queryHash binds a search cursor to its query and its Log.
func (l *Log) queryHash(q SearchQuery, from, to int64) uint64 {
	h := fnv.New64a()
	var b [8]byte
	for _, v := range []int64{l.opts.Seed, from, to, int64(q.Order)} {
		binary.LittleEndian.PutUint64(b[:], uint64(v))
		h.Write(b[:])
	}
	ts := slices.Clone(q.Types)
	slices.Sort(ts)
	h.Write([]byte(strings.Join(slices.Compact(ts), "\x00")))
	return h.Sum64()
}

// A search key is base64url(version | time | gen | query hash | checksum).
const searchKeyVersion = 1

func encodeSearchKey(k eventKey, qh uint64) string {
	b := make([]byte, 0, 25)
	b = append(b, searchKeyVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(k.t))
	b = binary.BigEndian.AppendUint32(b, k.gen)
	b = binary.BigEndian.AppendUint64(b, qh)
	h := fnv.New32a()
	h.Write(b)
	b = binary.BigEndian.AppendUint32(b, h.Sum32())
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeSearchKey(s string, qh uint64) (eventKey, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 25 || b[0] != searchKeyVersion {
		return eventKey{}, fmt.Errorf("%w: malformed start key", ErrBadCursor)
	}
	h := fnv.New32a()
	h.Write(b[:21])
	if h.Sum32() != binary.BigEndian.Uint32(b[21:]) {
		return eventKey{}, fmt.Errorf("%w: corrupt start key", ErrBadCursor)
	}
	if binary.BigEndian.Uint64(b[13:21]) != qh {
		return eventKey{}, fmt.Errorf("%w: start key belongs to another query", ErrBadCursor)
	}
	return eventKey{t: int64(binary.BigEndian.Uint64(b[1:9])), gen: binary.BigEndian.Uint32(b[9:13])}, nil
}

// mergeIter walks two key-sorted slices as one, in either direction, over the keys in
// [from, to] that come after a cursor.
type mergeIter struct {
	a, b []meta
	i, j int // next index in a and b (descending: next index is i-1, j-1)
	desc bool
	from int64
	to   int64
}

func newMergeIter(a, b []meta, desc bool, from, to int64, after *eventKey) *mergeIter {
	it := &mergeIter{a: a, b: b, desc: desc, from: from, to: to}
	if !desc {
		lo := eventKey{from, 0}
		strict := after != nil && cmpKey(*after, lo) >= 0
		if strict {
			lo = *after
		}
		it.i, it.j = lowerBound(a, lo, strict), lowerBound(b, lo, strict)
	} else {
		hi := eventKey{to, math.MaxUint32}
		strict := after != nil && cmpKey(*after, hi) <= 0
		if strict {
			hi = *after
		}
		// Index of the first key above hi (or at hi when strict): the walk goes down from there.
		it.i, it.j = lowerBound(a, hi, !strict), lowerBound(b, hi, !strict)
	}
	return it
}

// lowerBound returns the index of the first element with key >= k (> k when strict).
func lowerBound(s []meta, k eventKey, strict bool) int {
	i, found := slices.BinarySearchFunc(s, k, func(m meta, k eventKey) int { return cmpKey(m.key(), k) })
	if found && strict {
		i++
	}
	return i
}

func (it *mergeIter) next() (meta, bool) {
	var m meta
	if !it.desc {
		switch {
		case it.i < len(it.a) && (it.j >= len(it.b) || cmpMeta(it.a[it.i], it.b[it.j]) < 0):
			m = it.a[it.i]
			it.i++
		case it.j < len(it.b):
			m = it.b[it.j]
			it.j++
		default:
			return meta{}, false
		}
		return m, m.t <= it.to
	}
	switch {
	case it.i > 0 && (it.j == 0 || cmpMeta(it.a[it.i-1], it.b[it.j-1]) > 0):
		it.i--
		m = it.a[it.i]
	case it.j > 0:
		it.j--
		m = it.b[it.j]
	default:
		return meta{}, false
	}
	return m, m.t >= it.from
}
