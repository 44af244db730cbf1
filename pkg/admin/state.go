package admin

import (
	"context"
	"net/http"
)

// requestState is what one request's middleware and handler learn about it on the way, for
// the request and audit logs: who made it (set by the auth middleware) and how it ended
// (handlers note what they did; writeError notes the error). A request is served by one
// goroutine, so it needs no lock.
type requestState struct {
	who     string
	outcome string
	attrs   []any // slog key/value pairs
}

type stateKey struct{}

// withRequestState returns r with a fresh requestState, and the state.
func withRequestState(r *http.Request) (*http.Request, *requestState) {
	st := &requestState{}
	return r.WithContext(context.WithValue(r.Context(), stateKey{}, st)), st
}

// stateOf returns the request's state; nil when no middleware made one.
func stateOf(r *http.Request) *requestState {
	st, _ := r.Context().Value(stateKey{}).(*requestState)
	return st
}

// noteWho records the authenticated identity.
func noteWho(r *http.Request, who string) {
	if st := stateOf(r); st != nil {
		st.who = who
	}
}

// noteOutcome records how the request ended, in words, with slog key/value pairs.
func noteOutcome(r *http.Request, outcome string, attrs ...any) {
	if st := stateOf(r); st != nil {
		st.outcome = outcome
		st.attrs = append(st.attrs, attrs...)
	}
}
