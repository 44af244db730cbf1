package datadog

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/event"
)

func TestItem(t *testing.T) {
	now := time.Date(2025, 1, 2, 12, 0, 0, 0, time.UTC)
	body := func(at time.Time) string {
		return `{"event":"session.start","uid":"u1","time":"` + at.Format(time.RFC3339Nano) + `","cluster_name":"prod cluster,eu"}`
	}
	tests := []struct {
		name     string
		cfg      func(*config.Datadog)
		body     string
		want     map[string]string
		wantDate bool
	}{
		{
			name: "configured",
			cfg: func(c *config.Datadog) {
				c.Source, c.Service, c.Hostname, c.Tags = "teleport-audit", "audit", "host-1", []string{"env:prod", "team:sec"}
			},
			body: body(now.Add(-time.Minute)),
			want: map[string]string{"ddsource": "teleport-audit", "service": "audit", "hostname": "host-1",
				"ddtags": "env:prod,team:sec,event:session.start,cluster:prod_cluster_eu", "date": "2025-01-02T11:59:00.000Z"},
		},
		{
			name: "defaults and empty fields left out",
			cfg:  func(c *config.Datadog) { c.Source, c.Service, c.Hostname, c.Tags = "", "", "", nil },
			body: `{"event":"user.login"}`,
			want: map[string]string{"ddsource": "teleport", "ddtags": "event:user.login"},
		},
		{
			name: "too old for a date",
			body: body(now.Add(-17*time.Hour - time.Second)),
			want: map[string]string{"ddsource": "teleport", "service": "teleport",
				"ddtags": "event:session.start,cluster:prod_cluster_eu"},
		},
		{
			name: "too far ahead for a date",
			body: body(now.Add(2 * time.Hour)),
			want: map[string]string{"ddsource": "teleport", "service": "teleport",
				"ddtags": "event:session.start,cluster:prod_cluster_eu"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default().Forward.Datadog
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			ev, err := event.Parse(event.Audit, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			it, size := newItemMaker(cfg).item(ev, now)
			encoded, err := json.Marshal(it)
			if err != nil {
				t.Fatal(err)
			}
			if size != len(encoded) {
				t.Errorf("size %d, encoded %d bytes", size, len(encoded))
			}
			var got map[string]string
			if err := json.Unmarshal(encoded, &got); err != nil {
				t.Fatal(err)
			}
			if got["message"] != tt.body {
				t.Errorf("message = %s, want the body unchanged", got["message"])
			}
			delete(got, "message")
			if len(got) != len(tt.want) {
				t.Errorf("item fields = %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

// FuzzJSONStringSize checks the counted size of a string against encoding/json: equal, but
// for the 4 bytes counted on top for each '\b' and '\f'.
func FuzzJSONStringSize(f *testing.F) {
	for _, seed := range []string{"", "plain", `"quoted" \back\slash`, "<&>", "\n\r\t\b\f\x00\x1f\x7f",
		"é 👩‍💻 \u2028\u2029", "\xff\xfe invalid \xc3", "ユーザー"} {
		f.Add(seed)
	}
	for b := range 256 {
		f.Add(string([]byte{byte(b)}))
	}
	f.Fuzz(func(t *testing.T, s string) {
		encoded, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		extra := 4 * (strings.Count(s, "\b") + strings.Count(s, "\f"))
		if got := jsonStringSize(s); got != len(encoded)+extra {
			t.Errorf("jsonStringSize(%q) = %d, encoding/json wrote %d bytes (+%d for \\b, \\f)", s, got, len(encoded), extra)
		}
	})
}
