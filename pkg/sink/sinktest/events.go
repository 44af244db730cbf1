package sinktest

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/auditpipe/auditpipe/pkg/event"
)

// AuditEvent returns audit event n: a failed user.login whose uid, "sinktest-audit-<n>", makes
// it unique. Its body holds what a sink must carry unchanged: unicode and escapes, an integer
// beyond float64's precision, nested objects and a field no Teleport library knows.
func AuditEvent(n int) event.Event {
	body := fmt.Sprintf(`{"event":"user.login","code":"T1000W","uid":"sinktest-audit-%d",`+
		`"time":"2025-01-02T03:04:05.123456789Z","cluster_name":"sinktest","user":"ユーザー-%d 👩‍💻",`+
		`"success":false,"error":"bad \"password\"\n\u00e9 <&>","method":"local",`+
		`"big":12345678901234567890,"ratio":1.50,"identity":{"roles":["access","editor"],"ttl":null},`+
		`"x_unknown_field":{"a":[1,{"b":"c"}]}}`, n, n)
	return build(event.Audit, body)
}

// SessionEvent returns event ei of session sid: a "print" event of the recording, without a
// uid as Teleport writes it, unique by sid and ei.
func SessionEvent(sid string, ei int64) event.Event {
	body := fmt.Sprintf(`{"event":"print","code":"T2000I","sid":%q,"ei":%d,`+
		`"time":"2025-01-02T03:04:05Z","cluster_name":"sinktest","data":"bHMgLWxhCg==",`+
		`"bytes":7,"ms":%d,"offset":%d}`, sid, ei, ei*10, ei*7)
	return build(event.Session, body)
}

// Pad returns e with a "sinktest_padding" field added so that its body is at least size bytes
// long. The envelope is read again from the new body.
func Pad(e event.Event, size int) event.Event {
	const field = `,"sinktest_padding":""}`
	n := size - len(e.Body) - len(field) + 1
	if n < 0 {
		n = 0
	}
	body := strings.TrimSuffix(strings.TrimSpace(string(e.Body)), "}") +
		`,"sinktest_padding":"` + strings.Repeat("p", n) + `"}`
	return build(e.Kind, body)
}

// Key is the identity the suite compares events by: the SHA-256 of the body's canonical JSON,
// so two bodies have the same Key when they are the same JSON value, however they are spaced
// or ordered.
func Key(body []byte) string {
	return event.ContentHash(body)
}

// build parses a body made by this package; those bodies are valid by construction, so
// an error is a bug in the package and shows up as an invalid event in the suite.
func build(kind event.Kind, body string) event.Event {
	ev, err := event.Parse(kind, []byte(body))
	if err != nil || !json.Valid(ev.Body) {
		return event.Event{Kind: kind, Type: "sinktest.invalid", Body: []byte(body)}
	}
	return ev
}
