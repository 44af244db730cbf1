package fluentd

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"syscall"
	"time"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/sink"
)

const (
	// excerptBytes is how much of an answer's body is read for a Reason.
	excerptBytes = 512
	// drainBytes is how much more of an answer's body is read so that its connection can be
	// used again; a longer body costs the connection instead.
	drainBytes = 64 << 10
)

// answer is what became of one POST.
type answer struct {
	status int   // 0 when no answer came
	err    error // why no answer came
	reused bool  // the POST went over a keep-alive connection from the pool
	result sink.Result
}

// send delivers the events of r and writes their results. On a 413 it sends the two halves
// of r one after the other, so that each URL's events keep their order.
func (s *Sink) send(ctx context.Context, batch []event.Event, r request, results []sink.Result) {
	a := s.post(ctx, r.url, encode(batch, r.idx))
	if a.status == http.StatusRequestEntityTooLarge {
		if len(r.idx) > 1 {
			half := len(r.idx) / 2
			s.send(ctx, batch, request{url: r.url, idx: r.idx[:half]}, results)
			s.send(ctx, batch, request{url: r.url, idx: r.idx[half:]}, results)
			return
		}
		a.result = sink.Result{Outcome: sink.Rejected, Reason: a.result.Reason + ": the event alone is over fluentd's body_size_limit"}
	}
	for _, i := range r.idx {
		results[i] = a.result
	}
}

// post POSTs one JSON array to target. A reset or closed connection that was reused from the
// pool is tried once more at once: Fluentd may have closed it while it was idle.
func (s *Sink) post(ctx context.Context, target string, array []byte) answer {
	payload, encoding := array, ""
	if s.gzip {
		payload, encoding = compress(array), "gzip"
	}
	for attempt := 1; ; attempt++ {
		a := s.attempt(ctx, target, payload, encoding)
		if attempt == 1 && a.reused && a.err != nil && ctx.Err() == nil && closedConnection(a.err) {
			continue
		}
		return a
	}
}

// attempt makes one POST.
func (s *Sink) attempt(ctx context.Context, target string, payload []byte, encoding string) answer {
	var reused bool
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused }}
	rctx, cancel := context.WithTimeout(httptrace.WithClientTrace(ctx, trace), s.timeout)
	defer cancel()

	req, err := http.NewRequestWithContext(rctx, http.MethodPost, target, bytes.NewReader(payload))
	if err != nil {
		return answer{err: err, result: sink.Result{Outcome: sink.Retry, Blocked: true, Reason: "fluentd: cannot make a request: " + err.Error()}}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "auditpipe")
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}

	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		s.metrics.Observe(0, time.Since(start), int64(len(payload)))
		result := failure(ctx, rctx, s.timeout, err)
		if !reused && !result.Blocked && ctx.Err() == nil && closedConnection(err) {
			if refusal := s.prober.refusal(ctx, target); refusal != nil {
				result = refused(refusal)
			}
		}
		return answer{err: err, reused: reused, result: result}
	}
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, excerptBytes))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainBytes))
	_ = resp.Body.Close()
	s.metrics.Observe(resp.StatusCode, time.Since(start), int64(len(payload)))
	return answer{status: resp.StatusCode, reused: reused, result: outcome(resp, excerpt)}
}

// closedConnection reports whether err says the peer closed or reset the connection. That
// includes net.ErrClosed ("use of closed network connection"): when the peer's close (or TLS
// alert) reaches net/http's read loop first, the loop closes the connection and the request's
// write fails on it, and that error is the one returned.
func closedConnection(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}

// gzipWriters keeps gzip writers between requests: each holds about 800 KiB of state.
var gzipWriters sync.Pool

// compress gzips b, fast rather than small. Writing to a bytes.Buffer cannot fail.
func compress(b []byte) []byte {
	var buf bytes.Buffer
	zw, ok := gzipWriters.Get().(*gzip.Writer)
	if ok {
		zw.Reset(&buf)
	} else {
		zw, _ = gzip.NewWriterLevel(&buf, gzip.BestSpeed) // fails only for a bad level
	}
	_, _ = zw.Write(b)
	_ = zw.Close()
	gzipWriters.Put(zw)
	return buf.Bytes()
}
