package admin

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestServeGracefulStop proves Serve answers on its listener, lets a request in flight finish
// after its context ends, and then returns nil with the listener closed.
func TestServeGracefulStop(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	started, release := make(chan struct{}), make(chan struct{})
	api := e.srv.handler
	e.srv.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(started)
			<-release
			r.URL.Path = "/healthz"
		}
		api.ServeHTTP(w, r)
	})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.srv.Serve(ctx, lis) }()
	base := "http://" + lis.Addr().String()
	if res := send(t, http.DefaultClient, base, request{method: http.MethodGet, path: "/healthz"}); res.status != http.StatusOK {
		t.Fatalf("healthz: %d %s", res.status, res.body)
	}

	slow := make(chan response, 1)
	go func() { slow <- send(t, http.DefaultClient, base, request{method: http.MethodGet, path: "/slow"}) }()
	<-started
	cancel()
	select {
	case err := <-done:
		t.Fatalf("Serve returned %v with a request in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	if _, err := net.DialTimeout("tcp", lis.Addr().String(), time.Second); err == nil {
		t.Fatal("the listener still accepts while draining")
	}
	close(release)
	if res := <-slow; res.status != http.StatusOK {
		t.Fatalf("the request in flight got %d; want 200", res.status)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve = %v; want nil after a clean stop", err)
		}
	case <-time.After(DrainTimeout):
		t.Fatal("Serve did not return after its context ended")
	}
}

// TestServeListenerError proves Serve returns the error of a listener that fails.
func TestServeListenerError(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_ = lis.Close()
	err = e.srv.Serve(t.Context(), lis)
	if err == nil || !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Serve on a closed listener = %v; want net.ErrClosed", err)
	}
}
