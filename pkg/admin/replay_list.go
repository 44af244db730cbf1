package admin

import (
	"net/http"
	"slices"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/window"
)

// listReplays answers GET /v1/replays: every replay, newest first, as adminapi.ReplayList;
// active ones with the settle passes they wait for, as GET /v1/replays/{id} has them.
func (s *Server) listReplays(w http.ResponseWriter, r *http.Request) {
	all, err := s.store.Replays(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	now := s.now()
	out := adminapi.ReplayList{Replays: make([]adminapi.Replay, 0, len(all))}
	for _, rp := range slices.Backward(all) {
		if rp.State == window.ReplayActive {
			if rp, err = s.store.ReplayProgress(r.Context(), rp.ID); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		out.Replays = append(out.Replays, apiReplay(rp, now))
	}
	writeJSON(w, http.StatusOK, out)
}
