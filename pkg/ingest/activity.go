package ingest

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// activity is what this replica's workers are doing: what each holds (Status) and when each
// last found nothing to claim (exit-on-last-event). Safe for concurrent use.
type activity struct {
	mu    sync.Mutex
	slots []*slot
	// active is the last time a worker had work: the start of a claim that got some, or the
	// end of a hold (whose work may have queued more, e.g. recordings).
	active time.Time
}

// slot is one worker's entry. Its methods are called by that worker only; they lock the
// activity, which others read.
type slot struct {
	a     *activity
	owner string
	held  *Held     // nil while idle
	empty time.Time // when the last claim that found no work (not paused) started
}

// slot registers a worker.
func (a *activity) slot(owner string) *slot {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := &slot{a: a, owner: owner}
	a.slots = append(a.slots, s)
	return s
}

// drop unregisters a worker, which ended its hold.
func (a *activity) drop(s *slot) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.slots = slices.DeleteFunc(a.slots, func(x *slot) bool { return x == s })
	a.active = time.Now()
}

// hold records work claimed by a claim started at claimed (zero: handed over, not claimed).
func (s *slot) hold(claimed time.Time, id, kind string) {
	s.a.mu.Lock()
	defer s.a.mu.Unlock()
	s.held = &Held{Worker: s.owner, ID: id, Kind: kind, Since: time.Now().UTC()}
	if claimed.After(s.a.active) {
		s.a.active = claimed
	}
}

// free records that the worker ended its hold.
func (s *slot) free() {
	s.a.mu.Lock()
	defer s.a.mu.Unlock()
	s.held = nil
	s.a.active = time.Now()
}

// markEmpty records a claim, started at claimed, that found no work.
func (s *slot) markEmpty(claimed time.Time) {
	s.a.mu.Lock()
	defer s.a.mu.Unlock()
	s.empty = claimed
}

// quiet is how the workers have been since some time t.
type quiet int

const (
	// busy: a worker holds something, or had work after t.
	busy quiet = iota
	// settling: no worker holds anything or had work after t, but some worker has not tried
	// a claim since t yet.
	settling
	// idle: no worker had work after t, and every one has found no work in a claim started
	// after t.
	idle
)

// since reports how the workers have been since t.
func (a *activity) since(t time.Time) quiet {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.active.After(t) {
		return busy
	}
	q := idle
	for _, s := range a.slots {
		switch {
		case s.held != nil:
			return busy
		case !s.empty.After(t):
			q = settling
		}
	}
	return q
}

// held lists what the workers hold, by worker.
func (a *activity) held() []Held {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []Held
	for _, s := range a.slots {
		if s.held != nil {
			out = append(out, *s.held)
		}
	}
	slices.SortFunc(out, func(x, y Held) int { return strings.Compare(x.Worker, y.Worker) })
	return out
}
