package admin

import (
	"net/http"
	"slices"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
)

// listReplays answers GET /v1/replays: every replay, newest first, as adminapi.ReplayList.
func (s *Server) listReplays(w http.ResponseWriter, r *http.Request) {
	all, err := s.store.Replays(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	now := s.now()
	out := adminapi.ReplayList{Replays: make([]adminapi.Replay, 0, len(all))}
	for _, rp := range slices.Backward(all) {
		out.Replays = append(out.Replays, apiReplay(rp, now))
	}
	writeJSON(w, http.StatusOK, out)
}
