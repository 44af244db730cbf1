package health_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/auditpipe/auditpipe/pkg/health"
)

func serve(t *testing.T, s *health.Server) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, lis, time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve after cancel: %v", err)
		}
	})
	return "http://" + lis.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestEndpoints(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "auditpipe_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Add(3)
	s := health.NewServer(reg)
	var redisErr error
	s.AddCheck("redis", func(context.Context) error { return redisErr })
	s.AddCheck("nats", func(context.Context) error { return nil })
	base := serve(t, s)

	if code, body := get(t, base+"/healthz"); code != 200 || !strings.Contains(body, "ok") {
		t.Errorf("/healthz = %d %s", code, body)
	}
	if code, body := get(t, base+"/metrics"); code != 200 || !strings.Contains(body, "auditpipe_test_total 3") {
		t.Errorf("/metrics = %d, missing the counter:\n%s", code, body)
	}
	code, body := get(t, base+"/readyz")
	if code != 200 {
		t.Errorf("/readyz with passing checks = %d %s", code, body)
	}
	redisErr = errors.New("dial tcp: connection refused")
	code, body = get(t, base+"/readyz")
	var rep health.Report
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatalf("/readyz body: %v: %s", err, body)
	}
	if code != http.StatusServiceUnavailable || rep.Status != "unavailable" ||
		rep.Checks["redis"] != redisErr.Error() || rep.Checks["nats"] != "ok" {
		t.Errorf("/readyz with a failing check = %d %+v", code, rep)
	}
}

func TestCheckTimeoutBoundsReady(t *testing.T) {
	t.Parallel()
	s := health.NewServer(prometheus.NewRegistry())
	s.AddCheck("stuck", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	start := time.Now()
	rep := s.Ready(context.Background())
	if rep.Status != "unavailable" || !strings.Contains(rep.Checks["stuck"], "deadline") {
		t.Errorf("Ready = %+v; want the stuck check to time out", rep)
	}
	if d := time.Since(start); d > health.CheckTimeout+time.Second {
		t.Errorf("Ready took %v; want about %v", d, health.CheckTimeout)
	}
}

func TestRunWithoutAddressWaits(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := health.NewServer(nil).Run(ctx, "", time.Second); err != nil {
		t.Errorf("Run(\"\") = %v", err)
	}
	if err := health.NewServer(nil).Run(context.Background(), "256.0.0.1:bad", time.Second); err == nil {
		t.Error("Run on a bad address succeeded")
	}
}
