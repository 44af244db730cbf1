package admin

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/stream"
)

// dlqOpener opens the DLQ on first use and keeps it: the streams may not exist yet when the
// admin service starts (ingest and shippers create them). Safe for concurrent use.
type dlqOpener struct {
	js   jetstream.JetStream
	opts stream.Options

	mu sync.Mutex
	q  *stream.DLQ
}

// open returns the DLQ; 503 unavailable while its stream or buckets do not exist.
func (o *dlqOpener) open(ctx context.Context) (*stream.DLQ, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.q != nil {
		return o.q, nil
	}
	q, err := stream.NewDLQ(ctx, o.js, o.opts)
	if errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, newAPIError(http.StatusServiceUnavailable, adminapi.CodeUnavailable,
			"the dead-letter stream is not there yet (ingest and shippers create it when they start): %v", err)
	}
	if err != nil {
		return nil, fmt.Errorf("admin: open the DLQ: %w", err)
	}
	o.q = q
	return q, nil
}

// deadLetter maps a DLQ entry to its wire form: the body as JSON when it is valid JSON, else
// base64; absent when it is kept in the object store (Object). EventType and EventID come from
// the original's Teleport-Event-Type and Teleport-Event-Uid headers; Headers are the original
// headers, several values of one joined with ", ".
func deadLetter(e stream.Entry) adminapi.DeadLetter {
	d := adminapi.DeadLetter{
		ID:              e.Seq,
		Time:            e.Time.UTC(),
		Sink:            e.Sink,
		Reason:          e.Reason,
		Attempts:        e.Attempts,
		OriginalSubject: e.OriginalSubject,
		OriginalSeq:     e.OriginalSeq,
		EventType:       e.Header.Get(event.HeaderType),
		EventID:         e.Header.Get(event.HeaderUID),
		Object:          e.Object,
	}
	if len(e.Header) > 0 {
		d.Headers = make(map[string]string, len(e.Header))
		for k, v := range e.Header {
			d.Headers[k] = strings.Join(v, ", ")
		}
	}
	switch {
	case e.Object != "":
	case json.Valid(e.Body):
		d.Body = json.RawMessage(e.Body)
	case len(e.Body) > 0:
		d.BodyBase64 = base64.StdEncoding.EncodeToString(e.Body)
	}
	return d
}
