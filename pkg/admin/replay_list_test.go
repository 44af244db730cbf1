package admin

import (
	"net/http"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/window"
)

// TestListReplays proves GET /v1/replays lists every replay newest first, an empty list as
// [] rather than null.
func TestListReplays(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if res := e.get("/v1/replays", readToken); res.status != http.StatusOK || string(res.body) != "{\"replays\":[]}\n" {
		t.Fatalf("empty list: %d %s", res.status, res.body)
	}
	var ids []string
	for i := range 3 {
		rp, err := e.store.CreateReplay(t.Context(), window.ReplaySpec{ID: "r" + string(rune('a'+i)),
			From: t0.Add(-time.Hour), To: t0, WindowSize: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, rp.ID)
		e.clock.Advance(time.Second)
	}
	var list adminapi.ReplayList
	e.get("/v1/replays", readToken).decode(t, http.StatusOK, &list)
	if len(list.Replays) != 3 || list.Replays[0].ID != ids[2] || list.Replays[1].ID != ids[1] || list.Replays[2].ID != ids[0] {
		t.Fatalf("list %+v; want %v newest first", list.Replays, ids)
	}
}
