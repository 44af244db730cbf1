package datadog

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/auditpipe/auditpipe/pkg/event"
)

func TestTruncatedMessage(t *testing.T) {
	big := strings.Repeat("x", 2<<20)
	var many strings.Builder
	for i := range 200 {
		fmt.Fprintf(&many, `,"f%03d":"%s"`, i, strings.Repeat("y", 1000))
	}
	tests := []struct {
		name        string
		body        string
		wantKept    []string
		wantOmitted []string
	}{
		{
			name:        "one big field",
			body:        `{"event":"session.upload","uid":"u1","time":"2025-01-02T03:04:05Z","user":"alice","blob":"` + big + `","small":1}`,
			wantKept:    []string{"event", "uid", "time", "user", "small"},
			wantOmitted: []string{"blob"},
		},
		{
			name:     "many fields: envelope first, within the budget",
			body:     `{"uid":"u2","event":"x"` + many.String() + `,"blob":"` + big + `"}`,
			wantKept: []string{"event", "uid", "f000"},
			// 64 KiB of 1 KiB fields: about 60 kept, the rest omitted.
			wantOmitted: []string{"blob", "f199"},
		},
		{
			name:     "not an object",
			body:     `"` + big + `"`,
			wantKept: []string{"event"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := event.Event{Kind: event.Audit, Type: "fallback.type", Body: []byte(tt.body)}
			if parsed, err := event.Parse(event.Audit, ev.Body); err == nil {
				ev = parsed
			}
			msg := truncatedMessage(ev)
			if len(msg) > keptBytes+omittedNames*(nameBytes+3)+256 {
				t.Errorf("truncated message is %d bytes", len(msg))
			}
			var got map[string]json.RawMessage
			if err := json.Unmarshal([]byte(msg), &got); err != nil {
				t.Fatalf("truncated message is not a JSON object: %v", err)
			}
			for _, name := range tt.wantKept {
				if _, ok := got[name]; !ok {
					t.Errorf("field %s left out", name)
				}
			}
			var mark Truncation
			if err := json.Unmarshal(got[MarkerField], &mark); err != nil {
				t.Fatalf("marker: %v", err)
			}
			if mark.OriginalBytes != len(tt.body) || !mark.DeadLetter {
				t.Errorf("marker = %+v, want original_bytes %d and dead_letter", mark, len(tt.body))
			}
			for _, name := range tt.wantOmitted {
				if _, ok := got[name]; ok {
					t.Errorf("field %s kept", name)
				}
				if !strings.Contains(string(got[MarkerField]), `"`+name+`"`) && mark.OmittedCount <= len(mark.Omitted) {
					t.Errorf("field %s not listed as omitted: %+v", name, mark)
				}
			}
			if mark.OmittedCount < len(mark.Omitted) || len(mark.Omitted) > omittedNames {
				t.Errorf("marker counts: %+v", mark)
			}
		})
	}
}
