// Package health serves a service's operational endpoints: /healthz (the process is alive),
// /readyz (its dependencies answer) and /metrics (Prometheus).
package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check reports whether one dependency is ready; a nil error means ready. It is called on
// every /readyz request with a context bounded by CheckTimeout, and must be safe for
// concurrent use.
type Check func(ctx context.Context) error

// CheckTimeout bounds each Check of a /readyz request.
const CheckTimeout = 2 * time.Second

// Server serves /healthz, /readyz and /metrics. Register checks before Run; Run owns the
// listener until its context ends.
type Server struct {
	gatherer prometheus.Gatherer
	mu       sync.RWMutex
	checks   map[string]Check
}

// NewServer returns a Server exposing the metrics of gatherer (prometheus.DefaultGatherer when
// nil).
func NewServer(gatherer prometheus.Gatherer) *Server {
	if gatherer == nil {
		gatherer = prometheus.DefaultGatherer
	}
	return &Server{gatherer: gatherer, checks: map[string]Check{}}
}

// AddCheck registers a readiness check under name; a second check of the same name replaces
// the first.
func (s *Server) AddCheck(name string, c Check) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks[name] = c
}

// Handler returns the endpoints as one http.Handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.ready)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{}))
	return mux
}

// Report is the /readyz body: each check's name with "ok" or its error.
type Report struct {
	Status string            `json:"status"` // "ok" or "unavailable"
	Checks map[string]string `json:"checks"`
}

// Ready runs every check concurrently and reports them all.
func (s *Server) Ready(ctx context.Context) Report {
	s.mu.RLock()
	names := make([]string, 0, len(s.checks))
	for name := range s.checks {
		names = append(names, name)
	}
	sort.Strings(names)
	checks := make([]Check, len(names))
	for i, name := range names {
		checks[i] = s.checks[name]
	}
	s.mu.RUnlock()

	results := make([]error, len(names))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, CheckTimeout)
			defer cancel()
			results[i] = c(ctx)
		})
	}
	wg.Wait()
	r := Report{Status: "ok", Checks: make(map[string]string, len(names))}
	for i, name := range names {
		r.Checks[name] = "ok"
		if results[i] != nil {
			r.Status = "unavailable"
			r.Checks[name] = results[i].Error()
		}
	}
	return r
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	rep := s.Ready(r.Context())
	code := http.StatusOK
	if rep.Status != "ok" {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, rep)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// Run listens on addr and serves until ctx ends, then shuts down within drain. An empty addr
// serves nothing and waits for ctx. It returns nil after a clean shutdown.
func (s *Server) Run(ctx context.Context, addr string, drain time.Duration) error {
	if addr == "" {
		<-ctx.Done()
		return nil
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("health: listen %s: %w", addr, err)
	}
	return s.Serve(ctx, lis, drain)
}

// Serve is Run on a listener the caller opened (e.g. on port 0); it closes lis.
func (s *Server) Serve(ctx context.Context, lis net.Listener, drain time.Duration) error {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	select {
	case err := <-errc:
		return fmt.Errorf("health: serve: %w", err)
	case <-ctx.Done():
	}
	// The run context is done: drain with a fresh one.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("health: shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("health: serve: %w", err)
	}
	return nil
}
