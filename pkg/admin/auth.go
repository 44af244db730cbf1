package admin

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
)

// errBadToken marks a bearer token that is not in the tokens file (WWW-Authenticate then
// says error="invalid_token").
var errBadToken = errors.New("unknown bearer token")

// authenticator decides who a request comes from and what it may do.
type authenticator struct {
	tokens      *tokenFile // nil without admin.tokens-file
	clientCerts bool       // admin.tls.client-ca is set
	insecure    bool       // neither is set and admin.insecure-no-auth allows that
}

type scopeKey struct{}

// authenticate is the middleware of the authenticated /v1 routes. A request is authenticated
// by, in order:
//   - an Authorization: Bearer token, which must be in the tokens file (scope and identity
//     "token:<8 hex digits of its SHA-256>" from there);
//   - else a client certificate verified against admin.tls.client-ca: scope read when one of
//     its Subject's OrganizationalUnit values contains "read" (any case), else admin; identity
//     "cert:<Subject CN>".
//
// Anything else is 401 unauthorized with a WWW-Authenticate: Bearer challenge. When no
// authentication is configured (admin.insecure-no-auth), every request is "anonymous" with
// the admin scope, whatever credentials it carries.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who, scope, err := s.auth.identify(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		noteWho(r, who)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), scopeKey{}, scope)))
	})
}

// identify returns the request's identity and scope, or a 401 error.
func (a *authenticator) identify(r *http.Request) (string, adminapi.Scope, error) {
	if a.insecure {
		return "anonymous", adminapi.ScopeAdmin, nil
	}
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		token = strings.TrimSpace(token)
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			return "", "", unauthorized(nil, "want Authorization: Bearer <token>")
		}
		if a.tokens == nil {
			return "", "", unauthorized(errBadToken, "bearer tokens are not enabled on this server (no admin.tokens-file)")
		}
		c, found := a.tokens.current().lookup(token)
		if !found {
			return "", "", unauthorized(errBadToken, "unknown bearer token")
		}
		return c.who, c.scope, nil
	}
	if a.clientCerts && r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		cert := r.TLS.VerifiedChains[0][0]
		scope := adminapi.ScopeAdmin
		for _, ou := range cert.Subject.OrganizationalUnit {
			if strings.Contains(strings.ToLower(ou), "read") {
				scope = adminapi.ScopeRead
			}
		}
		return "cert:" + cert.Subject.CommonName, scope, nil
	}
	return "", "", unauthorized(nil, "credentials required: Authorization: Bearer <token> or a client certificate")
}

// unauthorized is a 401 error; cause, when set, is what errors.Is finds.
func unauthorized(cause error, msg string) error {
	e := newAPIError(http.StatusUnauthorized, adminapi.CodeUnauthorized, "%s", msg)
	if cause == nil {
		return e
	}
	return &causedError{apiError: e, cause: cause}
}

// causedError is an apiError that also matches its cause with errors.Is.
type causedError struct {
	*apiError
	cause error
}

func (e *causedError) Unwrap() []error { return []error{e.apiError, e.cause} }

// requireAdmin is the middleware of write routes: a read scope gets 403 forbidden.
func (s *Server) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if scope, _ := r.Context().Value(scopeKey{}).(adminapi.Scope); scope != adminapi.ScopeAdmin {
			s.writeError(w, r, newAPIError(http.StatusForbidden, adminapi.CodeForbidden,
				"%s %s needs the admin scope; these credentials have %q", r.Method, r.URL.Path, scope))
			return
		}
		next.ServeHTTP(w, r)
	})
}
