package teleportsim

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

const secondsPerDay = 24 * 60 * 60

// chunk is one export chunk of a base day: events are indices into Log.base.
type chunk struct {
	name    string
	members []int32 // in time order within the chunk
	late    bool    // holds late events: listed once all of them are visible
}

// dayChunks is the export layout of one UTC day of the base log, sorted by chunk name.
type dayChunks struct {
	chunks []chunk
}

// ExportChunks answers GetEventExportChunks: the names of the chunks of one UTC day that can be
// read now, sorted (as S3 lists them). Names are opaque. A chunk of late events is listed only
// once all its events are visible, and this answered call starts the delay of the day's late
// events; a chunk RunLive is filling is listed once sealed. A day without events has no chunks.
// day must be a UTC midnight, else ErrBadRequest. Safe for concurrent use.
func (l *Log) ExportChunks(day time.Time) ([]string, error) {
	d, err := dayNumber(day)
	if err != nil {
		return nil, err
	}
	now := unixNanos(l.opts.Now())
	var names []string
	for _, c := range l.dayChunks(d).chunks {
		if !c.late || l.chunkVisible(c, now) {
			names = append(names, c.name)
		}
	}
	for _, c := range l.sealedLiveChunks(d, now) {
		names = append(names, c.name)
	}
	slices.Sort(names)
	if lo, hi, ok := dayRange(d); ok {
		l.triggerLate(lo, hi-1, now)
	}
	return names, nil
}

// ExportChunk answers ExportUnstructuredEvents: it yields the events of one chunk of a UTC day
// that follow cursor ("" = from the start), each with the cursor that resumes after it. Cursors
// have the form of Teleport's Athena backend, "a1:<position>". It returns ErrBadRequest for a day
// that is not a UTC midnight, ErrNotFound for a chunk that the day does not list now,
// ErrBadCursor for a malformed or out-of-range cursor, otherwise the first error yield returns,
// or nil. Events inside a chunk are in time order; across the chunks of a day they are not. Safe
// for concurrent use.
func (l *Log) ExportChunk(day time.Time, name, cursor string, yield func(ev Event, cursor string) error) error {
	d, err := dayNumber(day)
	if err != nil {
		return err
	}
	pos, err := parseExportCursor(cursor)
	if err != nil {
		return err
	}
	now := unixNanos(l.opts.Now())
	var metas []meta
	chunks := l.dayChunks(d).chunks
	if i, ok := slices.BinarySearchFunc(chunks, name, func(c chunk, n string) int { return strings.Compare(c.name, n) }); ok {
		c := chunks[i]
		if c.late && !l.chunkVisible(c, now) {
			return fmt.Errorf("%w: chunk %q", ErrNotFound, name)
		}
		metas = make([]meta, len(c.members))
		for k, m := range c.members {
			metas[k] = l.base[m]
		}
	} else {
		live := l.sealedLiveChunks(d, now)
		i := slices.IndexFunc(live, func(c *liveChunk) bool { return c.name == name })
		if i < 0 {
			return fmt.Errorf("%w: chunk %q", ErrNotFound, name)
		}
		metas = live[i].members
	}
	if pos > int64(len(metas)) {
		return fmt.Errorf("%w: cursor %q is past the end of chunk %q", ErrBadCursor, cursor, name)
	}
	for k := pos; k < int64(len(metas)); k++ {
		if err := yield(l.render(metas[k]), "a1:"+strconv.FormatInt(k+1, 10)); err != nil {
			return err
		}
	}
	return nil
}

// parseExportCursor returns the position an export cursor names.
func parseExportCursor(cursor string) (int64, error) {
	if cursor == "" {
		return 0, nil
	}
	s, ok := strings.CutPrefix(cursor, "a1:")
	pos, err := strconv.ParseInt(s, 10, 64)
	if !ok || err != nil || pos < 0 {
		return 0, fmt.Errorf("%w: malformed export cursor %q", ErrBadCursor, cursor)
	}
	return pos, nil
}

// dayNumber returns the day since the Unix epoch of a UTC midnight.
func dayNumber(day time.Time) (int64, error) {
	u := day.UTC()
	if u.Hour() != 0 || u.Minute() != 0 || u.Second() != 0 || u.Nanosecond() != 0 {
		return 0, fmt.Errorf("%w: %v is not a UTC midnight", ErrBadRequest, day)
	}
	return u.Unix() / secondsPerDay, nil // exact: a UTC midnight is a whole number of days
}

// dayRange returns day d in unix nanoseconds, [lo, hi); ok is false outside the int64 range.
func dayRange(d int64) (lo, hi int64, ok bool) {
	const maxDay = math.MaxInt64/int64(24*time.Hour) - 1
	if d < -maxDay || d > maxDay {
		return 0, 0, false
	}
	return d * int64(24*time.Hour), (d + 1) * int64(24*time.Hour), true
}

// chunkVisible reports whether every event of a late chunk is visible at now.
func (l *Log) chunkVisible(c chunk, now int64) bool {
	for _, i := range c.members {
		if !l.visible(l.base[i], now) {
			return false
		}
	}
	return true
}

// dayChunks returns the export layout of day d, building it on first use: the day's events are
// shuffled across chunks of up to ChunkSize events; with SingleEventChunks one event (a
// session.upload if the day has one) gets a chunk of its own; late events go to chunks of their
// own. All of it is a function of the seed and the day.
func (l *Log) dayChunks(d int64) *dayChunks {
	l.daysMu.Lock()
	defer l.daysMu.Unlock()
	if dc, ok := l.days[d]; ok {
		return dc
	}
	dc := &dayChunks{}
	l.days[d] = dc
	lo, hi, ok := dayRange(d)
	if !ok {
		return dc
	}
	first := lowerBound(l.base, eventKey{lo, 0}, false)
	end := lowerBound(l.base, eventKey{hi, 0}, false)
	var normal, late []int32
	for i := first; i < end; i++ {
		if l.base[i].flags&flagLate != 0 {
			late = append(late, int32(i))
		} else {
			normal = append(normal, int32(i))
		}
	}
	r := newRNG(l.opts.Seed, rngDayChunks, uint64(d))
	for i := len(normal) - 1; i > 0; i-- {
		j := r.intn(i + 1)
		normal[i], normal[j] = normal[j], normal[i]
	}
	if l.opts.SingleEventChunks && len(normal) >= 2 {
		lone := 0
		if k := slices.IndexFunc(normal, func(i int32) bool { return l.base[i].typ == tSessionUpload }); k >= 0 {
			lone = k
		}
		dc.chunks = append(dc.chunks, chunk{name: r.uuid(), members: []int32{normal[lone]}})
		normal = slices.Delete(normal, lone, lone+1)
	}
	size := l.opts.ChunkSize
	for i := 0; i < len(normal); i += size {
		members := normal[i:min(i+size, len(normal)):min(i+size, len(normal))]
		slices.Sort(members)
		dc.chunks = append(dc.chunks, chunk{name: r.uuid(), members: members})
	}
	lr := newRNG(l.opts.Seed, rngLateChunks, uint64(d))
	for i := 0; i < len(late); i += size {
		dc.chunks = append(dc.chunks, chunk{name: lr.uuid(), members: late[i:min(i+size, len(late))], late: true})
	}
	slices.SortFunc(dc.chunks, func(a, b chunk) int { return strings.Compare(a.name, b.name) })
	return dc
}
