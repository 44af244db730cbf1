package fluentd_test

import (
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/logtest"
	"github.com/auditpipe/auditpipe/pkg/sink"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd/fluentdtest"
)

// logBuffer is a log that tests read back while the sink writes it.
type logBuffer struct{ logtest.Buffer }

func (b *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }

// eventually polls cond every 20 ms until it holds, and fails t after 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// delivered sends a batch and reports whether all of it was delivered.
func delivered(t *testing.T, s *fluentd.Sink, first int) bool {
	for _, r := range s.Deliver(testContext(t), audits(first, 3, 0)) {
		if r.Outcome != sink.Delivered {
			return false
		}
	}
	return true
}

// lastClientSerial is the serial of the client certificate of the peer's last handshake.
func lastClientSerial(peer *fluentdtest.Server) *big.Int {
	serials := peer.ClientSerials()
	if len(serials) == 0 {
		return nil
	}
	return serials[len(serials)-1]
}

func certSerial(t *testing.T, path string) *big.Int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s holds no PEM", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert.SerialNumber
}

// copyFile replaces dst with src's content by renaming a new file over it.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst+".new", data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(dst+".new", dst); err != nil {
		t.Fatal(err)
	}
}

// A client certificate renewed on disk is presented to Fluentd from the next connection on,
// without a restart: the reload closes the idle connections, so the next batch handshakes
// again.
func TestClientCertificateReload(t *testing.T) {
	t.Parallel()
	peer := fluentdtest.New(t)
	var logs logBuffer
	s, err := newSinkFor(t, peer.Config(), fluentd.WithLogger(logs.logger()))
	if err != nil {
		t.Fatal(err)
	}
	first := certSerial(t, peer.Files().Cert)
	if !delivered(t, s, 0) {
		t.Fatal("the first batch was not delivered")
	}
	if got := lastClientSerial(peer); got == nil || got.Cmp(first) != 0 {
		t.Fatalf("Fluentd saw client serial %v, want %v", got, first)
	}

	renewed := peer.ReissueClientCert(t)
	n := 3
	eventually(t, "Fluentd to see the renewed certificate", func() bool {
		ok := delivered(t, s, n)
		n += 3
		got := lastClientSerial(peer)
		return ok && got != nil && got.Cmp(renewed.SerialNumber) == 0
	})
	if !strings.Contains(logs.String(), "TLS certificate reloaded") {
		t.Errorf("no reload logged:\n%s", logs.String())
	}
	noSecret(t, logs.String(), peer.Secrets())
}

// The CA that verifies Fluentd is re-read: a sink whose ca does not trust Fluentd is blocked
// until the right CA is written to its file, and delivers from then on.
func TestCAReload(t *testing.T) {
	t.Parallel()
	peer, other := fluentdtest.New(t), fluentdtest.New(t)
	cfg := peer.Config()
	cfg.CA = filepath.Join(t.TempDir(), "ca.crt")
	copyFile(t, other.Files().CA, cfg.CA)
	s, err := newSinkFor(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	batch := audits(0, 3, 0)
	for _, r := range s.Deliver(testContext(t), batch) {
		if r.Outcome != sink.Retry || !r.Blocked || !strings.Contains(r.Reason, "not trusted") {
			t.Fatalf("with the wrong CA: %+v, want Retry, blocked, not trusted", r)
		}
	}

	copyFile(t, peer.Files().CA, cfg.CA)
	eventually(t, "delivery with the right CA", func() bool { return delivered(t, s, 3) })
}

// A rewrite of the client certificate that cannot be used (here half-written) is logged, and
// new connections keep presenting the certificate in force.
func TestCorruptRewriteKeepsClientCertificate(t *testing.T) {
	t.Parallel()
	peer := fluentdtest.New(t)
	var logs logBuffer
	s, err := newSinkFor(t, peer.Config(), fluentd.WithLogger(logs.logger()))
	if err != nil {
		t.Fatal(err)
	}
	first := certSerial(t, peer.Files().Cert)
	if !delivered(t, s, 0) {
		t.Fatal("the first batch was not delivered")
	}
	if err := os.WriteFile(peer.Files().Cert, []byte("-----BEGIN CERTIFICATE-----\nMIIB"), 0o600); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the failed reload's log", func() bool {
		return strings.Contains(logs.String(), "TLS certificate reload failed")
	})

	handshakes := len(peer.ClientSerials())
	peer.CloseClientConnections()
	n := 3
	eventually(t, "a delivery on a new connection", func() bool {
		ok := delivered(t, s, n)
		n += 3
		return ok && len(peer.ClientSerials()) > handshakes
	})
	if got := lastClientSerial(peer); got.Cmp(first) != 0 {
		t.Fatalf("the new connection presented serial %v, want the one in force, %v", got, first)
	}
	noSecret(t, logs.String(), peer.Secrets())
}
