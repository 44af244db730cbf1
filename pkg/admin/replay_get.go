package admin

import (
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/auditpipe/auditpipe/pkg/window"
)

// getReplay answers GET /v1/replays/{id}: the adminapi.Replay with its progress, the settle
// passes it waits for and its ETA; 404 when there is none.
func (s *Server) getReplay(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	rp, err := s.store.ReplayProgress(r.Context(), id)
	if errors.Is(err, window.ErrNotFound) {
		err = notFound("no replay %q", id)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apiReplay(rp, s.now()))
}
