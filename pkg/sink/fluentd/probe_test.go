package fluentd

import (
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/sink/fluentd/fluentdtest"
)

func TestProber(t *testing.T) {
	peer := fluentdtest.New(t)
	tests := []struct {
		name        string
		cert, key   string
		target      string
		wantRefusal bool
	}{
		{name: "trusted client", cert: peer.Files().Cert, key: peer.Files().Key},
		{name: "no client certificate", wantRefusal: true},
		{name: "untrusted client certificate", cert: peer.Files().UntrustedCert, key: peer.Files().UntrustedKey, wantRefusal: true},
		{name: "plain http is not probed", target: "http://127.0.0.1:1/a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := peer.Config()
			cfg.Cert, cfg.Key = tt.cert, tt.key
			tc, err := newClientTLS(cfg, slog.New(slog.DiscardHandler), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = tc.close() })
			p := newProber(&net.Dialer{}, tc.config)
			target := tt.target
			if target == "" {
				target = cfg.URL
			}
			if got := p.refusal(t.Context(), target); (got != nil) != tt.wantRefusal {
				t.Fatalf("refusal %v, want refused %t", got, tt.wantRefusal)
			}
			start := time.Now()
			if got := p.refusal(t.Context(), target); (got != nil) != tt.wantRefusal {
				t.Errorf("remembered refusal %v, want refused %t", got, tt.wantRefusal)
			}
			if took := time.Since(start); took > probeWait/2 {
				t.Errorf("the second probe took %v: the verdict was not remembered", took)
			}
		})
	}
}
