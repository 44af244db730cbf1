package admin

import (
	"encoding/base64"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/stream"
)

// TestDeadLetter proves the wire form of a DLQ entry: JSON bodies as JSON, others base64, none
// for a body in the object store; event type and id from the Teleport headers.
func TestDeadLetter(t *testing.T) {
	t.Parallel()
	h := nats.Header{}
	h.Set(event.HeaderType, "user.login")
	h.Set(event.HeaderUID, "u-1")
	h.Add("X-Multi", "a")
	h.Add("X-Multi", "b")
	e := stream.Entry{Seq: 9, Time: t0, DeadLetter: stream.DeadLetter{Sink: "fluentd", Reason: "HTTP 400", Attempts: 4,
		OriginalSubject: "teleport.audit.user.login", OriginalSeq: 77, Header: h, Body: []byte(`{"a": 1}`)}}
	d := deadLetter(e)
	if d.ID != 9 || d.Sink != "fluentd" || d.Reason != "HTTP 400" || d.Attempts != 4 || d.OriginalSeq != 77 ||
		d.EventType != "user.login" || d.EventID != "u-1" || d.Headers["X-Multi"] != "a, b" ||
		string(d.Body) != `{"a": 1}` || d.BodyBase64 != "" || !d.Time.Equal(t0) {
		t.Fatalf("JSON entry %+v", d)
	}
	e.Body = []byte{0xff, 0x00, 'x'}
	if d := deadLetter(e); d.Body != nil || d.BodyBase64 != base64.StdEncoding.EncodeToString(e.Body) {
		t.Fatalf("binary entry %+v", d)
	}
	e.Object, e.Body = "TELEPORT_DLQ_LARGE/k", []byte(`{"auditpipe_object":"TELEPORT_DLQ_LARGE/k","size":5000000}`)
	if d := deadLetter(e); d.Body != nil || d.BodyBase64 != "" || d.Object != "TELEPORT_DLQ_LARGE/k" {
		t.Fatalf("object entry %+v", d)
	}
}
