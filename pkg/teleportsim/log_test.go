package teleportsim

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
	"time"
)

// testFrom and testTo bound the logs of most tests: three whole UTC days.
var (
	testFrom = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	testTo   = testFrom.Add(72 * time.Hour)
)

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newTestLog returns a log of o, with Seed, Count, From and To defaulted for tests.
func newTestLog(t testing.TB, o Options) *Log {
	t.Helper()
	if o.Seed == 0 {
		o.Seed = 42
	}
	if o.Count == 0 {
		o.Count = 3000
	}
	if o.From.IsZero() && o.To.IsZero() {
		o.From, o.To = testFrom, testTo
	}
	if o.Now == nil {
		now := o.To.Add(time.Hour) // everything uploaded, nothing in the future
		o.Now = func() time.Time { return now }
	}
	l, err := NewLog(o)
	if err != nil {
		t.Fatalf("NewLog: %v", err)
	}
	return l
}

// auditEvents renders every audit event of l (late ones included) in time order.
func auditEvents(t testing.TB, l *Log) []Event {
	t.Helper()
	var out []Event
	for _, m := range append(append([]meta(nil), l.base...), l.liveSnapshot()...) {
		out = append(out, l.render(m))
	}
	return out
}

// manifest returns l's manifest as a slice.
func manifest(l *Log) []ManifestEntry {
	var out []ManifestEntry
	l.Manifest(func(e ManifestEntry) bool {
		out = append(out, e)
		return true
	})
	return out
}

func hashOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// allSwitches turns every realism switch on.
func allSwitches(o Options) Options {
	o.IdenticalTimestamps = 40
	o.DayBoundaries = true
	o.Unicode = true
	o.LargeEvents = 2
	o.HugeEvents = 1
	o.LateEvents = 15
	o.LateDelay = time.Minute
	o.SingleEventChunks = true
	o.RecordingDelay = time.Minute
	o.RecordingDelayFraction = 0.5
	return o
}

func TestNewLogIsDeterministic(t *testing.T) {
	t.Parallel() // CPU only, on a Log of its own: runs beside the others on a second core
	tests := []struct {
		name string
		opts Options
	}{
		{"defaults", Options{}},
		{"every switch", allSwitches(Options{})},
		{"custom mix", Options{Mix: map[string]int{"user.login": 5, "session.start": 2, "session.join": 3}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Two logs built apart from the same options: their manifests, then their events.
			a, b := newTestLog(t, tt.opts), newTestLog(t, tt.opts)
			var out [2]bytes.Buffer
			for i, l := range []*Log{a, b} {
				if err := l.WriteManifest(&out[i]); err != nil {
					t.Fatalf("WriteManifest: %v", err)
				}
			}
			if !bytes.Equal(out[0].Bytes(), out[1].Bytes()) {
				t.Fatal("two logs of the same options have different manifests")
			}
			ea, eb := auditEvents(t, a), auditEvents(t, b)
			for i := range ea {
				if !bytes.Equal(ea[i].JSON, eb[i].JSON) {
					t.Fatalf("event %d differs:\n%s\n%s", i, ea[i].JSON, eb[i].JSON)
				}
			}
			// Rendering again gives the same bytes.
			for i, m := range a.base {
				if !bytes.Equal(a.render(m).JSON, ea[i].JSON) {
					t.Fatalf("event %d renders differently the second time", i)
				}
			}
			other := tt.opts
			other.Seed = 7
			var o bytes.Buffer
			if err := newTestLog(t, other).WriteManifest(&o); err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(o.Bytes(), out[0].Bytes()) {
				t.Fatal("another seed gives the same log")
			}
		})
	}
}

func TestNewLogOptions(t *testing.T) {
	tests := []struct {
		name    string
		given   Options
		wantLen int
		wantErr error
	}{
		{"default mix is exact", Options{Count: 1234}, 1234, nil},
		{"single type", Options{Count: 10, Mix: map[string]int{"exec": 1}}, 10, nil},
		{"sessions only round down", Options{Count: 10, Mix: map[string]int{"session.start": 1}}, 8, nil},
		{"empty log", Options{Count: 0, From: testFrom, To: testTo}, 0, nil},
		{"negative count", Options{Count: -1}, 0, ErrInvalidOptions},
		{"range too short", Options{From: testFrom, To: testFrom.Add(time.Millisecond)}, 0, ErrInvalidOptions},
		{"unknown type", Options{Mix: map[string]int{"nope": 1}}, 0, ErrInvalidOptions},
		{"derived type", Options{Mix: map[string]int{"session.end": 1}}, 0, ErrInvalidOptions},
		{"join without start", Options{Mix: map[string]int{"session.join": 1, "exec": 1}}, 0, ErrInvalidOptions},
		{"zero weights", Options{Mix: map[string]int{"exec": 0}}, 0, ErrInvalidOptions},
		{"negative weight", Options{Mix: map[string]int{"exec": -1}}, 0, ErrInvalidOptions},
		{"too many huge", Options{Count: 10, HugeEvents: 11}, 0, ErrInvalidOptions},
		{"too many late", Options{Count: 10, LateEvents: 11}, 0, ErrInvalidOptions},
		{"bad fraction", Options{RecordingDelayFraction: 2}, 0, ErrInvalidOptions},
		{"negative delay", Options{LateDelay: -time.Second}, 0, ErrInvalidOptions},
		{"NaN fraction", Options{RecordingDelayFraction: math.NaN()}, 0, ErrInvalidOptions},
		{"huge weight", Options{Mix: map[string]int{"exec": 1 << 40}}, 0, ErrInvalidOptions},
		{"range beyond nanoseconds", Options{From: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), To: testTo}, 0, ErrInvalidOptions},
		{"huge delays are fine", Options{Count: 5, LateEvents: 1, LateDelay: math.MaxInt64, RecordingDelay: math.MaxInt64}, 5, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.given
			if o.Count == 0 && tt.wantLen == 0 && tt.name != "empty log" {
				o.Count = 100
			}
			if o.From.IsZero() && o.To.IsZero() {
				o.From, o.To = testFrom, testTo
			}
			l, err := NewLog(o)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("NewLog error = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if l.Len() != tt.wantLen {
				t.Fatalf("Len = %d, want %d", l.Len(), tt.wantLen)
			}
		})
	}
}

func TestGeneratedTimesStayInRange(t *testing.T) {
	l := newTestLog(t, allSwitches(Options{Count: 5000}))
	for _, ev := range auditEvents(t, l) {
		if ev.Time.Before(testFrom) || !ev.Time.Before(testTo) {
			t.Fatalf("%s at %v outside [%v, %v)", ev.Type, ev.Time, testFrom, testTo)
		}
	}
	for i, m := range l.base {
		if got := l.render(m).Time.UnixNano(); got != m.t {
			t.Fatalf("event %d: rendered time %d, metadata %d", i, got, m.t)
		}
	}
}

func TestMixableTypes(t *testing.T) {
	mixable := MixableTypes()
	for name := range DefaultMix() {
		if !slices.Contains(mixable, name) {
			t.Errorf("DefaultMix weights %q, which MixableTypes lacks", name)
		}
	}
	for _, name := range mixable {
		mix := map[string]int{name: 1}
		if name == "session.join" {
			mix["session.start"] = 1
		}
		if _, err := NewLog(Options{Count: 50, From: testFrom, To: testTo, Mix: mix}); err != nil {
			t.Errorf("Mix of %q: %v", name, err)
		}
	}
	if len(mixable) != 13 {
		t.Errorf("%d mixable types: %q", len(mixable), mixable)
	}
}
