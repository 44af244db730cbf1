package admin

import (
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/auditpipe/auditpipe/pkg/window"
)

// cancelReplay answers DELETE /v1/replays/{id}: it withdraws an active replay and answers the
// cancelled adminapi.Replay. A replay cancelled before is answered unchanged (200); one that
// is done already is 409 conflict; an unknown one 404.
func (s *Server) cancelReplay(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	rp, err := s.store.CancelReplay(r.Context(), id)
	switch {
	case errors.Is(err, window.ErrNotFound):
		err = notFound("no replay %q", id)
	case err == nil && rp.State == window.ReplayDone:
		err = conflict("replay %s is done already (finished %s): nothing to cancel", id, rp.FinishedAt.Format(time.RFC3339))
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	noteOutcome(r, "replay cancelled", "replay", rp.ID, "windows_done", rp.Windows.Done, "windows_total", rp.Windows.Total())
	writeJSON(w, http.StatusOK, apiReplay(rp, s.now()))
}
