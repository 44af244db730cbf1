package admin

import (
	"net/http"

	"github.com/go-chi/chi/v5/middleware"
)

// audit logs every request to a write route at INFO once it is answered, as "admin action":
// who made it, the route, the request id, the status, and the outcome — what the handler
// noted it did (with details such as the replay id), or the error message. It runs after
// authentication, so requests without valid credentials are in the request log only, while
// denied ones (403) are audited.
func (s *Server) audit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		who, outcome, status := "", "", statusOf(ww)
		var attrs []any
		if st := stateOf(r); st != nil {
			who, outcome, attrs = st.who, st.outcome, st.attrs
		}
		if outcome == "" && status < http.StatusBadRequest {
			outcome = "ok"
		}
		args := append([]any{
			"who", who,
			"route", r.Method + " " + routePattern(r),
			"path", r.URL.Path,
			"request_id", middleware.GetReqID(r.Context()),
			"status", status,
			"outcome", outcome,
		}, attrs...)
		s.log.InfoContext(r.Context(), "admin action", args...)
	})
}
