package datadogtest

import (
	"math/rand/v2"
	"net/http"
	"slices"
	"time"

	"github.com/auditpipe/auditpipe/pkg/sink/sinktest"
)

// Failure is how the intake fails a request, whatever the request holds. Set one of its
// fields.
type Failure struct {
	// Status is answered, with a Datadog-style JSON error body whose detail is Detail
	// ("injected failure" when empty) and, when RetryAfter is set, a Retry-After header.
	Status     int
	Detail     string
	RetryAfter string
	// Reset closes the connection without an answer, with a TCP RST.
	Reset bool
	// Hang answers nothing until the client gives up or the test ends.
	Hang bool
}

// failures are the failures still to come.
type failures struct {
	next     Failure // for the next n requests
	n        int
	random   []Failure // one of them for a fraction of the other requests
	fraction float64
}

// FailNext makes the next n requests fail with f, replacing failures still pending from
// FailNext or Fail; n <= 0 ends them.
func (in *Intake) FailNext(n int, f Failure) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.failures.next, in.failures.n = f, max(n, 0)
}

// Fail is FailNext with the failure that stands for kind: Transient 503, Reset a reset, Hang
// no answer, Permanent 400, Unauthorized 403. It makes the intake a sinktest.Peer.
func (in *Intake) Fail(n int, kind sinktest.FailureKind) {
	var f Failure
	switch kind {
	case sinktest.Reset:
		f.Reset = true
	case sinktest.Hang:
		f.Hang = true
	case sinktest.Permanent:
		f.Status = http.StatusBadRequest
	case sinktest.Unauthorized:
		f.Status = http.StatusForbidden
	default:
		f.Status = http.StatusServiceUnavailable
	}
	in.FailNext(n, f)
}

// FailRandomly makes each request that FailNext does not fail fail with probability fraction
// (0 to 1), with one of fs picked at random; a fraction of 0, or no fs, ends it. For chaos
// tests: 30% of requests answered 503 or reset.
func (in *Intake) FailRandomly(fraction float64, fs ...Failure) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.failures.random, in.failures.fraction = slices.Clone(fs), fraction
}

// SetLatency delays every answer, failed or not, by d.
func (in *Intake) SetLatency(d time.Duration) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.latency = d
}

// take returns the failure the next request meets, or nil, and the latency to add. The
// caller holds in.mu.
func (in *Intake) take() (*Failure, time.Duration) {
	fs := &in.failures
	switch {
	case fs.n > 0:
		fs.n--
		f := fs.next
		return &f, in.latency
	case fs.fraction > 0 && len(fs.random) > 0 && rand.Float64() < fs.fraction:
		f := fs.random[rand.IntN(len(fs.random))]
		return &f, in.latency
	}
	return nil, in.latency
}
