package admin

import (
	"net/http"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
)

// resetStartTime answers PUT /v1/start-time (adminapi.StartTimeRequest, confirm required):
// it starts a new epoch from start_time — what deleting teleport-event-handler's storage did
// — and answers the adminapi.StartTimeResult. The current epoch's unfinished windows are
// withdrawn; what is queued in the stream stays and is delivered; replays go on.
func (s *Server) resetStartTime(w http.ResponseWriter, r *http.Request) {
	body, err := requestBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req, err := decodeStartTimeRequest(body, s.now())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	epoch, err := s.store.ResetEpoch(r.Context(), req.StartTime)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	noteOutcome(r, "start time reset", "epoch", epoch.Number, "start_time", epoch.Start)
	writeJSON(w, http.StatusOK, adminapi.StartTimeResult{Epoch: epoch.Number, StartTime: epoch.Start})
}
