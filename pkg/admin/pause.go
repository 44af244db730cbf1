package admin

import (
	"net/http"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
)

// setPaused is the handler of POST /v1/ingest/pause (paused true) and POST
// /v1/ingest/resume (false). Pausing stops every ingest replica from claiming new work (what
// they hold, they finish or release); both are idempotent, and a repeated pause keeps the
// first pause's time. It answers the adminapi.PauseState after the change.
func (s *Server) setPaused(paused bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		change, outcome := s.store.Resume, "ingest resumed"
		if paused {
			change, outcome = s.store.Pause, "ingest paused"
		}
		if err := change(ctx); err != nil {
			s.writeError(w, r, err)
			return
		}
		var st adminapi.PauseState
		var err error
		if st.Paused, st.PausedAt, err = s.store.Paused(ctx); err != nil {
			s.writeError(w, r, err)
			return
		}
		noteOutcome(r, outcome, "paused_at", st.PausedAt)
		writeJSON(w, http.StatusOK, st)
	}
}
