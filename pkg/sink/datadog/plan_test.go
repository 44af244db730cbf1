package datadog

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV2"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/event"
)

func TestPlan(t *testing.T) {
	tests := []struct {
		name     string
		sizes    []int
		maxItems int
		maxBytes int
		want     []span
	}{
		{name: "empty", sizes: nil, maxItems: 10, maxBytes: 100, want: nil},
		{name: "one request", sizes: []int{10, 10, 10}, maxItems: 10, maxBytes: 100, want: []span{{0, 3}}},
		{name: "by count", sizes: []int{1, 1, 1, 1, 1}, maxItems: 2, maxBytes: 100, want: []span{{0, 2}, {2, 4}, {4, 5}}},
		// payloadBytes(40+40, 2) = 84 fits in 84; a third item does not.
		{name: "by bytes, exact fit", sizes: []int{40, 40, 40}, maxItems: 10, maxBytes: 84, want: []span{{0, 2}, {2, 3}}},
		{name: "by bytes, one byte short", sizes: []int{40, 40, 40}, maxItems: 10, maxBytes: 83, want: []span{{0, 1}, {1, 2}, {2, 3}}},
		{name: "an item over the limit goes alone", sizes: []int{10, 500, 10}, maxItems: 10, maxBytes: 100, want: []span{{0, 1}, {1, 2}, {2, 3}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := plan(tt.sizes, tt.maxItems, tt.maxBytes); !slices.Equal(got, tt.want) {
				t.Errorf("plan(%v, %d, %d) = %v, want %v", tt.sizes, tt.maxItems, tt.maxBytes, got, tt.want)
			}
		})
	}
}

// TestPayloadBytesIsTheEncodedSize proves the size arithmetic against what SubmitLog sends:
// the client encodes the []HTTPLogItem with encoding/json's Encoder.
func TestPayloadBytesIsTheEncodedSize(t *testing.T) {
	cfg := config.Default().Forward.Datadog
	cfg.Tags = []string{"env:prod", "team:sec"}
	cfg.Hostname = "auditpipe-0"
	m := newItemMaker(cfg)
	now := time.Now()
	bodies := []string{
		`{"event":"user.login","uid":"1","time":"` + now.Format(time.RFC3339Nano) + `","cluster_name":"c1"}`,
		`{"event":"print","sid":"s","ei":3,"data":"<&> \u2028 \" \\ é 👩‍💻 \u0001"}`,
		`{"event":"x"}`,
	}
	var items []datadogV2.HTTPLogItem
	sum := 0
	for _, body := range bodies {
		ev, err := event.Parse(event.Audit, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		it, size := m.item(ev, now)
		items = append(items, it)
		sum += size
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(&items); err != nil {
		t.Fatal(err)
	}
	if got, want := payloadBytes(sum, len(items)), buf.Len(); got != want {
		t.Errorf("payloadBytes = %d, the encoder wrote %d", got, want)
	}
}

func TestCutKeepsRunes(t *testing.T) {
	s := strings.Repeat("é", 10) // 2 bytes each
	if got := cut(s, 5); got != "éé" {
		t.Errorf("cut = %q, want %q", got, "éé")
	}
	if got := cut("abc", 5); got != "abc" {
		t.Errorf("cut = %q, want abc", got)
	}
}
