package clients_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/clients"
	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/testenv"
)

// TestNATSTLS runs an embedded nats-server that requires TLS, and one that also verifies
// client certificates (verify: true), with certificates made here: nats.tls verifies the
// server against nats.tls.ca and the host it dials, and presents nats.tls.cert.
func TestNATSTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := newCA(t, "auditpipe test CA")
	other := newCA(t, "another CA")
	caFile := ca.write(t, dir, "ca")
	otherCAFile := other.write(t, dir, "other-ca")
	serverPair := ca.issue(t, "nats", []string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)}, x509.ExtKeyUsageServerAuth)
	wrongNamePair := ca.issue(t, "nats", []string{"nats.example.com"}, []net.IP{net.IPv4(127, 0, 0, 2)}, x509.ExtKeyUsageServerAuth)
	cert, key := ca.issue(t, "auditpipe", nil, nil, x509.ExtKeyUsageClientAuth).write(t, dir, "client")
	badCert, badKey := other.issue(t, "auditpipe", nil, nil, x509.ExtKeyUsageClientAuth).write(t, dir, "untrusted-client")

	serverTLS := func(pair *issued, verifyClients bool) *tls.Config {
		tc := &tls.Config{Certificates: []tls.Certificate{pair.tls}, MinVersion: tls.VersionTLS12}
		if verifyClients {
			tc.ClientAuth = tls.RequireAndVerifyClientCert
			tc.ClientCAs = x509.NewCertPool()
			tc.ClientCAs.AddCert(ca.cert)
		}
		return tc
	}
	servers := map[string]*testenv.NATSServer{
		"tls":        testenv.NATS(t, testenv.WithTLS(serverTLS(serverPair, false))),
		"mtls":       testenv.NATS(t, testenv.WithTLS(serverTLS(serverPair, true))),
		"wrong name": testenv.NATS(t, testenv.WithTLS(serverTLS(wrongNamePair, false))),
	}

	const refused = "tls: certificate required|connection closed by remote after TLS handshake"
	tests := []struct {
		name    string
		server  string
		tls     config.ClientTLS
		scheme  string // replaces the scheme of the server's URL (tls://) when set
		wantErr string // "" for a verified TLS connection; else one of its "|"-separated texts
	}{
		{name: "server verified against the CA", server: "tls", tls: config.ClientTLS{Enabled: true, CA: caFile}},
		{name: "nats:// URL with nats.tls enabled", server: "tls", scheme: "nats://", tls: config.ClientTLS{Enabled: true, CA: caFile}},
		{name: "server signed by another CA", server: "tls", tls: config.ClientTLS{Enabled: true, CA: otherCAFile}, wantErr: "certificate signed by unknown authority"},
		{name: "system roots do not know the test CA", server: "tls", tls: config.ClientTLS{Enabled: true}, wantErr: "certificate signed by unknown authority"},
		{name: "server name checked", server: "wrong name", tls: config.ClientTLS{Enabled: true, CA: caFile}, wantErr: "certificate is valid for 127.0.0.2, not 127.0.0.1"},
		{name: "TLS off: a TLS server is still verified, against the system roots", server: "tls", scheme: "nats://", wantErr: "certificate signed by unknown authority"},
		{name: "client certificate", server: "mtls", tls: config.ClientTLS{Enabled: true, CA: caFile, Cert: cert, Key: key}},
		// With TLS 1.3 the client learns of the refusal after its side of the handshake: from
		// the server's alert, or from the connection the server closed.
		{name: "no client certificate", server: "mtls", tls: config.ClientTLS{Enabled: true, CA: caFile}, wantErr: refused},
		// The server asks for a certificate of its CA; the client has none to offer.
		{name: "untrusted client certificate", server: "mtls", tls: config.ClientTLS{Enabled: true, CA: caFile, Cert: badCert, Key: badKey}, wantErr: refused},
		{name: "unreadable CA", server: "tls", tls: config.ClientTLS{Enabled: true, CA: filepath.Join(dir, "none")}, wantErr: "nats.tls.ca: cannot read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url := servers[tt.server].URL
			if tt.scheme != "" {
				_, hostPort, _ := strings.Cut(url, "://")
				url = tt.scheme + hostPort
			}
			nc, err := clients.NATS(config.NATS{URL: url, TLS: tt.tls}, "auditpipe-test", slog.New(slog.DiscardHandler))
			if tt.wantErr != "" {
				if err == nil {
					nc.Close()
					t.Fatalf("connected; want an error with %q", tt.wantErr)
				}
				if !slices.ContainsFunc(strings.Split(tt.wantErr, "|"), func(want string) bool { return strings.Contains(err.Error(), want) }) {
					t.Fatalf("err = %v; want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			state, err := nc.TLSConnectionState()
			if err != nil || !state.HandshakeComplete || state.Version < tls.VersionTLS12 {
				t.Fatalf("TLS state %+v, %v; want a completed TLS 1.2+ handshake", state, err)
			}
			// A round trip over the connection.
			if _, err := nc.Request("$JS.API.INFO", nil, 5*time.Second); err != nil {
				t.Fatalf("JetStream request over TLS: %v", err)
			}
		})
	}
}

// authority is a CA made for one test.
type authority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// issued is a certificate and key signed by an authority.
type issued struct {
	certPEM, keyPEM []byte
	tls             tls.Certificate
}

var serial atomic.Int64

func nextSerial() *big.Int { return big.NewInt(serial.Add(1)) }

func newCA(t *testing.T, name string) *authority {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          nextSerial(),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &authority{cert: cert, key: key}
}

// write writes the CA's certificate to dir/name.crt and returns the path.
func (a *authority) write(t *testing.T, dir, name string) string {
	t.Helper()
	path := filepath.Join(dir, name+".crt")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func (a *authority) issue(t *testing.T, cn string, dns []string, ips []net.IP, usage x509.ExtKeyUsage) *issued {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: nextSerial(),
		Subject:      pkix.Name{CommonName: cn},
		DNSNames:     dns,
		IPAddresses:  ips,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	out := &issued{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
	if out.tls, err = tls.X509KeyPair(out.certPEM, out.keyPEM); err != nil {
		t.Fatal(err)
	}
	return out
}

// write writes the certificate and key to dir/name.crt and dir/name.key and returns the paths.
func (p *issued) write(t *testing.T, dir, name string) (cert, key string) {
	t.Helper()
	cert, key = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(cert, p.certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, p.keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}
