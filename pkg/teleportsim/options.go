package teleportsim

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"time"
)

// Limits of the simulated Auth Service, as in Teleport.
const (
	// DefaultSearchLimit is the page size of a search whose Limit is <= 0
	// (Teleport's defaults.EventsIterationLimit).
	DefaultSearchLimit = 500
	// MaxSearchLimit is the largest Limit a search accepts; a larger one is ErrBadRequest, as
	// Teleport's backends answer BadParameter (defaults.EventsMaxIterationLimit).
	MaxSearchLimit = 10000
	// MaxPageBytes is the default byte budget of one search page, the sum of the events' JSON
	// sizes (Teleport's events.MaxEventBytesInResponse). Unlike Teleport, a page always holds at
	// least one event, so an event over the budget is served alone instead of stalling paging.
	MaxPageBytes = 1 << 20
	// DefaultChunkSize is the default number of events in one export chunk.
	DefaultChunkSize = 5000
	// DefaultLiveFlush is the default age at which RunLive's open export chunk is sealed.
	DefaultLiveFlush = 5 * time.Second
	// DefaultClusterName is the cluster_name of the events when Options.ClusterName is empty.
	DefaultClusterName = "teleport.example.com"
	// maxJoinsPerSession bounds the session.join events of one session.
	maxJoinsPerSession = 8
	// maxWeight bounds a Mix weight, so that sums cannot overflow.
	maxWeight = 1 << 30
)

// ErrInvalidOptions: NewLog was given Options it cannot honour.
var ErrInvalidOptions = errors.New("teleportsim: invalid options")

// Options configure a generated Log. Everything a Log holds after NewLog is a pure function of
// the Options: the same Options give byte-identical events. The zero value of every realism
// switch is off.
type Options struct {
	// Seed selects the log; the same seed and options produce the same events.
	Seed int64
	// Count is the number of audit events generated up front (Len after NewLog). It is exact
	// unless Mix holds only session types, in which case the few events that do not fill a whole
	// session are dropped.
	Count int
	// From and To bound the generated audit events: From <= time < To. To-From must be at least
	// one second when Count > 0. Times are whole milliseconds from From, as Teleport rounds them,
	// except the DayBoundaries events.
	From, To time.Time
	// Mix weights audit event types by their share of Count; nil means DefaultMix(). Weights
	// are at most 2^30. Keys are
	// the mixable types listed by MixableTypes. session.end, session.data and session.upload
	// follow session.start one for one, and session.leave follows session.join: they are
	// derived, may not appear in Mix, and take the weight of the type they follow. A
	// session.join weight needs a session.start weight.
	Mix map[string]int
	// ChunkSize is the largest number of events in one export chunk; 0 means DefaultChunkSize.
	ChunkSize int
	// ClusterName is the cluster_name of every event; "" means DefaultClusterName.
	ClusterName string
	// PageBytes is the byte budget of a search page; 0 means MaxPageBytes.
	PageBytes int
	// Now is the Log's clock (late events, recording delays, live event times); nil means
	// time.Now. Tests may pass a fake clock.
	Now func() time.Time

	// IdenticalTimestamps, when > 0, gives that many events of every UTC day of the range one
	// shared timestamp (a run of identical timestamps, which paging must neither split wrongly
	// nor repeat).
	IdenticalTimestamps int
	// DayBoundaries places, for every UTC midnight M in [From, To), two events at exactly M and
	// two at M-1ns (23:59:59.999999999) when that is not before From.
	DayBoundaries bool
	// Unicode draws user names, logins, commands, queries and host names partly from non-ASCII
	// pools (accents, CJK, Cyrillic, emoji).
	Unicode bool
	// LargeEvents is the number of events of hundreds of KiB (a long exec command or
	// db.session.query). They are exec and db.session.query events whatever the Mix.
	LargeEvents int
	// HugeEvents is the number of events over 1 MiB (exec events with a huge command), which a
	// search page must serve alone. Each stays under 2 MiB.
	HugeEvents int
	// LateEvents is the number of audit events that Search and Export hide at first, as an
	// eventually consistent backend (Athena) does: an event stays invisible until LateDelay
	// after the first Search whose range covered its time, or the first ExportChunks of its day,
	// was answered. On the export path they sit in chunks of their own that are listed only
	// once all their events are visible. The manifest always lists them.
	LateEvents int
	// LateDelay is how long late events stay hidden after their first covering query.
	LateDelay time.Duration
	// SingleEventChunks gives every UTC day with at least two events one export chunk that holds
	// a single event (a lone session.upload where the day has one).
	SingleEventChunks bool
	// RecordingDelay, when > 0, makes recordings missing at first: SessionEvents answers
	// ErrNotFound for an affected session until RecordingDelay after the first request for it.
	RecordingDelay time.Duration
	// RecordingDelayFraction is the share of sessions RecordingDelay affects, chosen
	// deterministically; 0 means every session.
	RecordingDelayFraction float64
	// LiveFlush is the age at which the export chunk RunLive is filling is sealed and listed
	// (Teleport's Athena consumer flushes batches on a timer too); 0 means DefaultLiveFlush. A
	// chunk is also sealed when it holds ChunkSize events or its day ends.
	LiveFlush time.Duration
}

// DefaultMix returns the realistic mix used when Options.Mix is nil: mostly Kubernetes requests,
// database queries, exec and certificates, with interactive sessions, logins and occasional
// administrative changes. The caller owns the returned map.
func DefaultMix() map[string]int {
	return map[string]int{
		"kube.request":          250,
		"db.session.query":      200,
		"exec":                  150,
		"cert.create":           100,
		"user.login":            80,
		"session.start":         50,
		"sftp":                  40,
		"app.session.start":     30,
		"port":                  20,
		"session.join":          10,
		"access_request.create": 10,
		"role.created":          3,
		"user.create":           3,
	}
}

// MixableTypes returns the audit event types Options.Mix accepts.
func MixableTypes() []string {
	var out []string
	for t := range typeCount {
		if types[t].mixable {
			out = append(out, types[t].name)
		}
	}
	return out
}

// normalized returns a copy of o with defaults filled in, or an error wrapping
// ErrInvalidOptions.
func (o Options) normalized() (Options, error) {
	bad := func(format string, args ...any) (Options, error) {
		return Options{}, fmt.Errorf("%w: "+format, append([]any{ErrInvalidOptions}, args...)...)
	}
	if o.Count < 0 {
		return bad("Count %d < 0", o.Count)
	}
	if o.Count > math.MaxInt32/2 {
		return bad("Count %d too large", o.Count)
	}
	o.From, o.To = o.From.UTC(), o.To.UTC()
	if o.Count > 0 {
		if !inNanoRange(o.From) || !inNanoRange(o.To) {
			return bad("From and To must lie between the years 1678 and 2262")
		}
		if o.To.Sub(o.From) < time.Second {
			return bad("To-From = %v, want at least 1s", o.To.Sub(o.From))
		}
	}
	if o.ChunkSize < 0 || o.PageBytes < 0 {
		return bad("negative ChunkSize or PageBytes")
	}
	if o.IdenticalTimestamps < 0 || o.LargeEvents < 0 || o.HugeEvents < 0 || o.LateEvents < 0 {
		return bad("negative event count in a realism switch")
	}
	if o.LateDelay < 0 || o.RecordingDelay < 0 || o.LiveFlush < 0 {
		return bad("negative delay")
	}
	if !(o.RecordingDelayFraction >= 0 && o.RecordingDelayFraction <= 1) {
		return bad("RecordingDelayFraction %v outside [0, 1]", o.RecordingDelayFraction)
	}
	if o.ChunkSize == 0 {
		o.ChunkSize = DefaultChunkSize
	}
	if o.PageBytes == 0 {
		o.PageBytes = MaxPageBytes
	}
	if o.LiveFlush == 0 {
		o.LiveFlush = DefaultLiveFlush
	}
	if o.ClusterName == "" {
		o.ClusterName = DefaultClusterName
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Mix == nil {
		o.Mix = DefaultMix()
	} else {
		o.Mix = maps.Clone(o.Mix)
	}
	total := 0
	for name, w := range o.Mix {
		t, ok := typeByName[name]
		if !ok {
			return bad("Mix: unknown event type %q", name)
		}
		if !types[t].mixable {
			return bad("Mix: %q is derived from another type and cannot be weighted", name)
		}
		if w < 0 || w > maxWeight {
			return bad("Mix: weight %d for %q outside [0, %d]", w, name, maxWeight)
		}
		total += w
	}
	if o.Count > 0 && total == 0 {
		return bad("Mix has no positive weight")
	}
	if o.Mix["session.join"] > 0 && o.Mix["session.start"] == 0 {
		return bad("Mix: session.join needs session.start")
	}
	return o, nil
}

// inNanoRange reports whether t is representable in unix nanoseconds.
func inNanoRange(t time.Time) bool {
	return !t.Before(time.Unix(0, math.MinInt64)) && !t.After(time.Unix(0, math.MaxInt64))
}
