package datadog

import (
	"bytes"
	"context"
	"errors"
	"net/http"

	dd "github.com/DataDog/datadog-api-client-go/v2/api/datadog"
	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV2"

	"github.com/auditpipe/auditpipe/pkg/sink"
)

// delivery is one Deliver call in progress: the batch's items and the Results so far. It is
// used by one goroutine.
type delivery struct {
	s        *Sink
	ctx      context.Context
	results  []sink.Result
	items    []datadogV2.HTTPLogItem
	sizes    []int
	oversize map[int]int // batch index → size of the full item, for events sent truncated
}

// send posts the items of sp as one request and records each event's Result. It returns the
// Result that halts the batch — a Retry that the rest of the batch would meet too — or nil.
// A 413 splits sp in two halves sent one after the other, down to single items.
func (d *delivery) send(sp span) *sink.Result {
	if err := d.ctx.Err(); err != nil {
		r := sink.Result{Outcome: sink.Retry, Reason: "datadog: not sent: " + transportError(err)}
		d.fill(sp, r)
		return &r
	}
	sum := 0
	for _, size := range d.sizes[sp.lo:sp.hi] {
		sum += size
	}
	a := d.s.post(d.ctx, d.items[sp.lo:sp.hi], payloadBytes(sum, sp.hi-sp.lo))
	r := a.result()
	switch {
	case r.Outcome == sink.Delivered:
		d.s.keys.accepted(d.ctx)
		for i := sp.lo; i < sp.hi; i++ {
			d.results[i] = r
			if size, ok := d.oversize[i]; ok {
				d.s.metrics.oversize.Inc()
				d.results[i] = sink.Result{Outcome: sink.Rejected, Reason: oversizeReason(size)}
			}
		}
		return nil
	case a.status == http.StatusRequestEntityTooLarge && sp.hi-sp.lo > 1:
		mid := sp.lo + (sp.hi-sp.lo)/2
		if halt := d.send(span{sp.lo, mid}); halt != nil {
			d.fill(span{mid, sp.hi}, notSentAfter(*halt))
			return halt
		}
		return d.send(span{mid, sp.hi})
	case r.Outcome == sink.Rejected:
		d.fill(sp, r)
		return nil
	}
	if r.Blocked {
		d.s.keys.refused(d.ctx, a.status, r.Reason)
	}
	d.fill(sp, r)
	return &r
}

// fill sets the Result of every event of sp to r.
func (d *delivery) fill(sp span, r sink.Result) {
	for i := sp.lo; i < sp.hi; i++ {
		d.results[i] = r
	}
}

// notSentAfter is the Result of the events of a batch left unsent after halt.
func notSentAfter(halt sink.Result) sink.Result {
	halt.Reason = "datadog: not sent after an earlier request of the batch failed: " + halt.Reason
	return halt
}

// post sends items, payload bytes of JSON, as one gzip request with the current API key. The
// answer's body has the key replaced, should a proxy echo the request's headers in it.
func (s *Sink) post(ctx context.Context, items []datadogV2.HTTPLogItem, payload int) answer {
	s.metrics.items.Observe(float64(len(items)))
	s.metrics.payload.Add(float64(payload))
	key := s.keys.current().Reveal()
	ctx = context.WithValue(ctx, dd.ContextAPIKeys, map[string]dd.APIKey{"apiKeyAuth": {Key: key}})
	params := datadogV2.NewSubmitLogOptionalParameters().WithContentEncoding(datadogV2.CONTENTENCODING_GZIP)
	_, resp, err := s.api.SubmitLog(ctx, items, *params)
	if resp == nil {
		return answer{err: err}
	}
	a := answer{status: resp.StatusCode, header: resp.Header, err: err}
	var apiErr dd.GenericOpenAPIError
	if errors.As(err, &apiErr) {
		a.body = apiErr.Body()
		if key != "" {
			a.body = bytes.ReplaceAll(a.body, []byte(key), []byte("REDACTED"))
		}
	}
	return a
}
