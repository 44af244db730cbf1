package admin

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
)

// routeMethods are the methods the API uses, in the order Allow lists them.
var routeMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete}

// notFoundHandler answers a path no route has: 404 not_found.
func (s *Server) notFoundHandler(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, notFound("no route %s", r.URL.Path))
}

// methodNotAllowedHandler answers a path that routes has, with a method it does not: 405
// method_not_allowed, with the Allow header listing the methods the path takes.
func (s *Server) methodNotAllowedHandler(routes chi.Routes) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var allowed []string
		for _, m := range routeMethods {
			if routes.Match(chi.NewRouteContext(), m, r.URL.Path) {
				allowed = append(allowed, m)
			}
		}
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		s.writeError(w, r, newAPIError(http.StatusMethodNotAllowed, adminapi.CodeMethodNotAllowed,
			"%s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, strings.Join(allowed, ", ")))
	}
}
