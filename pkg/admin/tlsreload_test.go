package admin

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net/http"
	"os"
	"testing"

	"github.com/auditpipe/auditpipe/pkg/config"
)

// fileSerial is the serial of the PEM certificate in path.
func fileSerial(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s: no PEM", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert.SerialNumber.String()
}

// freshClient is p.client that opens a new connection, so a new handshake, for each request.
func freshClient(p *pki, certFile, keyFile string) *http.Client {
	c := p.client(certFile, keyFile)
	c.Transport.(*http.Transport).DisableKeepAlives = true
	return c
}

// get sends GET path with c and returns the status and the serial of the server's
// certificate, or the error (a refused handshake).
func get(t *testing.T, c *http.Client, base, path string) (status int, serial string, err error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	return res.StatusCode, res.TLS.PeerCertificates[0].SerialNumber.String(), nil
}

// replaceFile writes data to path by renaming a new file over it, as tbot and editors do.
func replaceFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path+".new", data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
}

// TestServerCertificateReload proves admin.tls.cert/key are re-read while the server runs: a
// certificate re-issued on disk is served to the next connection, and a corrupt rewrite is
// logged and keeps the certificate in force.
func TestServerCertificateReload(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	e := newEnv(t, withConfig(func(c *config.Config) {
		c.Admin.TLS = config.ServerTLS{Cert: p.srvCert, Key: p.srvKey, ClientCA: p.caFile}
	}))
	base := serve(t, e.srv, "https")
	client := freshClient(p, "", "")
	served := func() string {
		_, serial, err := get(t, client, base, "/healthz")
		if err != nil {
			return "error: " + err.Error()
		}
		return serial
	}
	first := fileSerial(t, p.srvCert)
	if got := served(); got != first {
		t.Fatalf("serving %s, want the file's %s", got, first)
	}

	p.issue("server", pkix.Name{CommonName: "admin"}, x509.ExtKeyUsageServerAuth) // rewrites both files in place
	second := fileSerial(t, p.srvCert)
	waitFor(t, "the re-issued certificate", func() bool { return served() == second })
	if recs := e.logs.records(t, "TLS certificate reloaded"); len(recs) == 0 || recs[len(recs)-1]["cert"] != p.srvCert {
		t.Fatalf("reload records %v", recs)
	}

	if err := os.WriteFile(p.srvCert, []byte("-----BEGIN CERTIFICATE-----\nMIIB"), 0o600); err != nil { // half-written
		t.Fatal(err)
	}
	waitFor(t, "the failed reload's error", func() bool {
		return len(e.logs.records(t, "TLS certificate reload failed; the previous certificate stays in use")) > 0
	})
	if got := served(); got != second {
		t.Fatalf("after a corrupt rewrite: serving %s, want %s still", got, second)
	}
}

// TestClientCAReload proves admin.tls.client-ca is re-read while the server runs: after the CA
// file is replaced, a client certificate of the new CA is accepted and one of the old CA is
// refused, on new connections.
func TestClientCAReload(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	e := newEnv(t, withConfig(func(c *config.Config) {
		c.Admin.TLS = config.ServerTLS{Cert: p.srvCert, Key: p.srvKey, ClientCA: p.caFile}
	}))
	base := serve(t, e.srv, "https")
	oldCert, oldKey := p.issue("ops", pkix.Name{CommonName: "old-ops"}, x509.ExtKeyUsageClientAuth)
	oldCA := freshClient(p, oldCert, oldKey)
	next := newPKI(t)
	newCert, newKey := next.issue("ops", pkix.Name{CommonName: "new-ops"}, x509.ExtKeyUsageClientAuth)
	newCA := freshClient(next, newCert, newKey)
	newCA.Transport.(*http.Transport).TLSClientConfig.RootCAs = p.pool // the server's certificate is p's

	if status, _, err := get(t, oldCA, base, "/v1/status"); err != nil || status != http.StatusOK {
		t.Fatalf("before: the old CA's client got %d, %v; want 200", status, err)
	}
	if _, _, err := get(t, newCA, base, "/v1/status"); err == nil {
		t.Fatal("before: the new CA's client was accepted")
	}

	caPEM, err := os.ReadFile(next.caFile)
	if err != nil {
		t.Fatal(err)
	}
	replaceFile(t, p.caFile, caPEM)
	waitFor(t, "the new CA's client to be accepted", func() bool {
		status, _, err := get(t, newCA, base, "/v1/status")
		return err == nil && status == http.StatusOK
	})
	if _, _, err := get(t, oldCA, base, "/v1/status"); err == nil {
		t.Fatal("after: the old CA's client was accepted")
	}
	if recs := e.logs.records(t, "TLS CA reloaded"); len(recs) != 1 || recs[0]["ca"] != p.caFile {
		t.Fatalf("CA reload records %v, want one for %s", recs, p.caFile)
	}
}
