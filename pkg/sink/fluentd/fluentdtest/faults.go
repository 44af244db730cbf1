package fluentdtest

import (
	"math/rand/v2"
	"net"
	"net/http"
	"time"

	"github.com/auditpipe/auditpipe/pkg/sink/sinktest"
)

// faults are the failures the Server injects; the Server's mutex guards them.
type faults struct {
	pending int
	kind    sinktest.FailureKind
	rate    float64
	kinds   []sinktest.FailureKind
	rng     *rand.Rand // seeded, so a failing run repeats
	latency time.Duration
}

func newFaults() faults {
	return faults{rng: rand.New(rand.NewPCG(1, 2))}
}

// Fail makes the next n requests that reach the fault stage fail with kind, replacing any
// failures still pending; n <= 0 ends them ([sinktest.Peer]). Requests refused earlier (405,
// 413) do not count. A failed request stores none of its records:
//   - Transient answers 503, as a Fluentd that cannot buffer or a proxy before it;
//   - Reset reads the request, then resets the TCP connection without an answer;
//   - Hang reads the request and answers only when the client goes away or the test ends;
//   - Permanent answers 400; Unauthorized answers 403 (in_http never does, a proxy in front
//     of it may).
func (s *Server) Fail(n int, kind sinktest.FailureKind) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.pending = max(n, 0)
	s.faults.kind = kind
}

// SetFailureRate makes each request fail with probability rate (0 to 1), with a kind chosen
// at random among kinds, after any failures [Server.Fail] set are spent. A rate of 0 or no
// kinds turns it off. The random sequence is the same on every run.
func (s *Server) SetFailureRate(rate float64, kinds ...sinktest.FailureKind) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.rate = rate
	s.faults.kinds = append([]sinktest.FailureKind(nil), kinds...)
}

// SetLatency delays every answer by d, as a slow or distant Fluentd would.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.latency = d
}

// nextFault says how the current request fails, or 0 when it does not.
func (s *Server) nextFault() sinktest.FailureKind {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := &s.faults
	if f.pending > 0 {
		f.pending--
		return f.kind
	}
	if f.rate > 0 && len(f.kinds) > 0 && f.rng.Float64() < f.rate {
		return f.kinds[f.rng.IntN(len(f.kinds))]
	}
	return 0
}

func (s *Server) latency() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults.latency
}

// wait waits d, or less when the client goes away or the test ends.
func (s *Server) wait(r *http.Request, d time.Duration) {
	if d <= 0 {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-r.Context().Done():
	case <-s.done:
	}
}

// fail answers a request that has been read with the failure kind.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, kind sinktest.FailureKind) {
	switch kind {
	case sinktest.Transient:
		http.Error(w, "503 Service Unavailable", http.StatusServiceUnavailable)
	case sinktest.Reset:
		reset(w)
	case sinktest.Hang:
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
		// Never an answer: returning would make net/http send an implicit 200 if the
		// connection still stands (the request's context also ends when the server reads
		// anything after the body), so abort the response and close the connection.
		panic(http.ErrAbortHandler)
	case sinktest.Permanent:
		http.Error(w, "400 Bad Request\ninjected failure", http.StatusBadRequest)
	case sinktest.Unauthorized:
		http.Error(w, "403 Forbidden", http.StatusForbidden)
	default:
		http.Error(w, "500 Internal Server Error\nunknown injected failure", http.StatusInternalServerError)
	}
}

// reset closes the request's connection with a TCP RST: no answer, not even a TLS
// close_notify.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "500 Internal Server Error\ncannot reset", http.StatusInternalServerError)
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	raw := conn
	if nc, ok := conn.(interface{ NetConn() net.Conn }); ok {
		raw = nc.NetConn()
	}
	if tcp, ok := raw.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = raw.Close()
}
