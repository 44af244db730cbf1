package admin

import (
	"net/http"

	"github.com/auditpipe/auditpipe/pkg/window"
)

// createReplay answers POST /v1/replays (adminapi.ReplayRequest): it creates the replay with
// all its windows (see replayWindowSize) and answers 202 Accepted with the adminapi.Replay and
// a Location header naming it; ingest replicas export it from then on.
func (s *Server) createReplay(w http.ResponseWriter, r *http.Request) {
	body, err := requestBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req, err := decodeReplayRequest(body, s.now())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	size := replayWindowSize(req.From, req.To, s.cfg.WindowSize)
	rp, err := s.store.CreateReplay(r.Context(), window.ReplaySpec{
		From: req.From, To: req.To, WindowSize: size, Types: req.Types, Sinks: req.Sinks,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	noteOutcome(r, "replay created", "replay", rp.ID, "from", rp.From, "to", rp.To,
		"types", rp.Types, "sinks", rp.Sinks, "windows", rp.Windows.Total(), "window_size", size)
	w.Header().Set("Location", "/v1/replays/"+rp.ID)
	writeJSON(w, http.StatusAccepted, apiReplay(rp, s.now()))
}
