package admin

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/window"
)

// TestResetStartTime proves PUT /v1/start-time starts the next epoch from the given time,
// withdrawing the old epoch's windows, needs confirm, refuses a future time, and logs who.
func TestResetStartTime(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	if _, err := e.store.InitEpoch(ctx, t0.Add(-72*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.PlanSearch(ctx, 1, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	newStart := time.Date(2025, 2, 27, 8, 30, 0, 0, time.FixedZone("CET", 3600))
	var res adminapi.StartTimeResult
	e.do(request{method: http.MethodPut, path: "/v1/start-time", token: adminToken,
		body: adminapi.StartTimeRequest{StartTime: newStart, Confirm: true}}).decode(t, http.StatusOK, &res)
	if res.Epoch != 2 || !res.StartTime.Equal(newStart) || res.StartTime.Location().String() != "UTC" {
		t.Fatalf("result %+v; want epoch 2 from %v", res, newStart)
	}
	epoch, err := e.store.CurrentEpoch(ctx)
	if err != nil || epoch.Number != 2 || !epoch.Start.Equal(newStart) {
		t.Fatalf("current epoch %+v, %v", epoch, err)
	}
	// The old epoch's windows are never claimed again: only epoch 2's (none planned yet).
	if _, err := e.store.Claim(ctx, "ingest-a"); !errors.Is(err, window.ErrNoWork) {
		t.Fatalf("claim after the reset: %v; want no work", err)
	}
	var st adminapi.Status
	e.get("/v1/status", readToken).decode(t, http.StatusOK, &st)
	if st.Ingest.Epoch != 2 || !st.Ingest.StartTime.Equal(newStart) || st.Ingest.Windows.Total != 0 {
		t.Fatalf("status after the reset %+v", st.Ingest)
	}

	for _, tt := range []struct{ name, body, want string }{
		{"no confirm", `{"start_time":"2025-02-01T00:00:00Z"}`, "confirm must be true"},
		{"confirm false", `{"start_time":"2025-02-01T00:00:00Z","confirm":false}`, "confirm must be true"},
		{"no time", `{"confirm":true}`, "start_time is required"},
		{"future", `{"start_time":"2025-03-01T12:00:01Z","confirm":true}`, "start_time is in the future"},
		{"unknown field", `{"start_time":"2025-02-01T00:00:00Z","confirm":true,"epoch":3}`, `unknown field "epoch"`},
	} {
		msg := e.do(request{method: http.MethodPut, path: "/v1/start-time", token: adminToken, body: tt.body}).
			wantError(t, http.StatusBadRequest, adminapi.CodeBadRequest)
		if !contains(msg.Message, tt.want) {
			t.Errorf("%s: %q; want %q", tt.name, msg.Message, tt.want)
		}
	}
	e.do(request{method: http.MethodPut, path: "/v1/start-time", token: readToken,
		body: adminapi.StartTimeRequest{StartTime: t0, Confirm: true}}).wantError(t, http.StatusForbidden, adminapi.CodeForbidden)
	if epoch, _ := e.store.CurrentEpoch(ctx); epoch.Number != 2 {
		t.Fatalf("a refused reset changed the epoch to %d", epoch.Number)
	}
	recs := e.auditRecords("PUT /v1/start-time")
	if len(recs) != 7 || recs[0]["who"] != tokenWho(sha(adminToken)) || recs[0]["epoch"] != float64(2) ||
		recs[0]["start_time"] != "2025-02-27T07:30:00Z" || recs[6]["status"] != float64(http.StatusForbidden) {
		t.Fatalf("audit %v", recs)
	}
}
