package fluentd_test

import (
	"strings"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/sink"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd/fluentdtest"
)

// A TLS handshake that fails is a configuration problem, in either direction: every event is
// Retry with Blocked, none reaches Fluentd, and the reason says what to check without showing
// a key.
func TestTLSHandshakeFailuresBlock(t *testing.T) {
	tests := []struct {
		name       string
		given      func(peer, other *fluentdtest.Server) config.Fluentd
		wantReason string
		wantRefuse bool // the peer saw and refused the handshake
	}{
		{
			name: "server certificate from an unknown CA",
			given: func(peer, other *fluentdtest.Server) config.Fluentd {
				c := peer.Config()
				c.CA = other.Files().CA
				return c
			},
			wantReason: "not trusted",
		},
		{
			name: "no client certificate",
			given: func(peer, _ *fluentdtest.Server) config.Fluentd {
				c := peer.Config()
				c.Cert, c.Key = "", ""
				return c
			},
			wantReason: "refused the TLS handshake",
			wantRefuse: true,
		},
		{
			name:       "untrusted client certificate",
			given:      func(peer, _ *fluentdtest.Server) config.Fluentd { return peer.UntrustedConfig() },
			wantReason: "refused the TLS handshake",
			wantRefuse: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			peer, other := fluentdtest.New(t), fluentdtest.New(t)
			s, err := newSinkFor(t, tt.given(peer, other))
			if err != nil {
				t.Fatal(err)
			}
			batch := audits(0, 5, 0)
			results := s.Deliver(testContext(t), batch)
			wantAll(t, results, len(batch), sink.Retry, true)
			for _, r := range results {
				if !strings.Contains(r.Reason, tt.wantReason) {
					t.Errorf("reason %q does not say %q", r.Reason, tt.wantReason)
				}
				noSecret(t, r.Reason, peer.Secrets())
			}
			if n := len(peer.Received()); n != 0 {
				t.Errorf("peer accepted %d events", n)
			}
			if n := peer.Requests(); n != 0 {
				t.Errorf("%d requests reached the peer", n)
			}
			// The server logs a failed handshake after the client has seen it fail.
			for deadline := time.Now().Add(5 * time.Second); tt.wantRefuse && peer.HandshakeFailures() == 0; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Error("the peer saw no failed handshake")
					break
				}
			}
		})
	}
}

// The trusted client certificate gets through, so the failures above are the certificates'.
func TestTLSTrustedClientDelivers(t *testing.T) {
	peer := fluentdtest.New(t)
	s := newSink(t, peer)
	batch := audits(0, 5, 0)
	wantAll(t, s.Deliver(testContext(t), batch), len(batch), sink.Delivered, false)
	if n := peer.HandshakeFailures(); n != 0 {
		t.Errorf("%d failed handshakes", n)
	}
}
