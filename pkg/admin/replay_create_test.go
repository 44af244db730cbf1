package admin

import (
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
)

// TestCreateReplay proves POST /v1/replays creates the replay in the window store with its
// windows, answers 202 with Location, and refuses bad input with clear 400s.
func TestCreateReplay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	from, to := t0.Add(-72*time.Hour), t0.Add(-time.Hour)
	res := e.do(request{method: http.MethodPost, path: "/v1/replays", token: adminToken,
		body: adminapi.ReplayRequest{From: from, To: to, Types: []string{"user.login"}, Sinks: []string{"datadog"}}})
	var rp adminapi.Replay
	res.decode(t, http.StatusAccepted, &rp)
	if res.header.Get("Location") != "/v1/replays/"+rp.ID || rp.ID == "" {
		t.Fatalf("Location %q for %q", res.header.Get("Location"), rp.ID)
	}
	// The default window size is 24h: 71 hours make 3 windows.
	want := adminapi.Replay{ID: rp.ID, State: "active", From: from, To: to, Types: []string{"user.login"}, Sinks: []string{"datadog"},
		CreatedAt: t0, Windows: adminapi.Counts{Pending: 3, Total: 3}, WindowsTotal: 3}
	if !reflect.DeepEqual(rp, want) {
		t.Fatalf("replay\n got %+v\nwant %+v", rp, want)
	}
	windows, err := e.store.ReplayWindows(t.Context(), rp.ID)
	if err != nil || len(windows) != 3 || !windows[0].From.Equal(from) || !windows[2].To.Equal(to) ||
		!reflect.DeepEqual(windows[1].Sinks, []string{"datadog"}) || !reflect.DeepEqual(windows[1].Types, []string{"user.login"}) {
		t.Fatalf("windows %+v, %v", windows, err)
	}
	if recs := e.auditRecords("POST /v1/replays"); len(recs) != 1 || recs[0]["replay"] != rp.ID || recs[0]["windows"] != float64(3) {
		t.Fatalf("audit %v", recs)
	}

	// Ten years in 24h windows would be 3,650; in 1 minute windows it is enlarged to 10,000.
	e.cfg.WindowSize = time.Minute
	res = e.do(request{method: http.MethodPost, path: "/v1/replays", token: adminToken,
		body: adminapi.ReplayRequest{From: t0.AddDate(-10, 0, 0), To: t0}})
	res.decode(t, http.StatusAccepted, &rp)
	if rp.WindowsTotal != maxReplayWindows {
		t.Fatalf("ten years made %d windows; want %d", rp.WindowsTotal, maxReplayWindows)
	}

	for _, tt := range []struct{ name, body, want string }{
		{"bad JSON", `{"from":`, "malformed JSON"},
		{"unknown field", `{"from":"2025-02-01T00:00:00Z","to":"2025-02-02T00:00:00Z","x":1}`, `unknown field "x"`},
		{"from after to", `{"from":"2025-02-02T00:00:00Z","to":"2025-02-01T00:00:00Z"}`, "from must be before to"},
		{"from equals to", `{"from":"2025-02-02T00:00:00Z","to":"2025-02-02T00:00:00Z"}`, "from must be before to"},
		{"future", `{"from":"2025-02-02T00:00:00Z","to":"2025-03-02T00:00:00Z"}`, "to is in the future"},
		{"unknown sink", `{"from":"2025-02-01T00:00:00Z","to":"2025-02-02T00:00:00Z","sinks":["kafka"]}`, `unknown sink "kafka"`},
		{"empty type", `{"from":"2025-02-01T00:00:00Z","to":"2025-02-02T00:00:00Z","types":[""]}`, "types[0] is empty"},
		{"trailing data", `{"from":"2025-02-01T00:00:00Z","to":"2025-02-02T00:00:00Z"} {}`, "trailing data"},
	} {
		msg := e.do(request{method: http.MethodPost, path: "/v1/replays", token: adminToken, body: tt.body}).
			wantError(t, http.StatusBadRequest, adminapi.CodeBadRequest)
		if !contains(msg.Message, tt.want) {
			t.Errorf("%s: message %q; want %q", tt.name, msg.Message, tt.want)
		}
	}
	if all, err := e.store.Replays(t.Context()); err != nil || len(all) != 2 {
		t.Fatalf("%d replays, %v; a bad request created one", len(all), err)
	}
}
