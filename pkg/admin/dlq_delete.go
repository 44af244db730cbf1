package admin

import (
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/auditpipe/auditpipe/pkg/stream"
)

// deleteDLQ answers DELETE /v1/dlq/{id}: it removes the dead letter (and its body in the
// object store, if any) and answers 204; 404 when there is none, 400 when id is not a positive
// integer.
func (s *Server) deleteDLQ(w http.ResponseWriter, r *http.Request) {
	id, err := parseDLQID(chi.URLParam(r, "id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	dlq, err := s.dlq.open(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	err = dlq.Delete(r.Context(), id)
	if errors.Is(err, stream.ErrNotFound) {
		err = notFound("no dead letter %d", id)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	noteOutcome(r, "dead letter deleted", "id", id)
	w.WriteHeader(http.StatusNoContent)
}
