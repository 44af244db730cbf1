package tlsfiles_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/tlsfiles"
)

// config is a Config over f's files with settings named as in a configuration.
func (f files) config(withPair, withCA bool) tlsfiles.Config {
	var c tlsfiles.Config
	if withPair {
		c.Cert = tlsfiles.File{Setting: "x.tls.cert", Path: f.cert}
		c.Key = tlsfiles.File{Setting: "x.tls.key", Path: f.key}
	}
	if withCA {
		c.CA = tlsfiles.File{Setting: "x.tls.ca", Path: f.ca}
	}
	return c
}

func open(t *testing.T, cfg tlsfiles.Config) *tlsfiles.Credentials {
	t.Helper()
	c, err := tlsfiles.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

// secretLines are what errors and logs must never show: each line of the keys' PEM.
func secretLines(keys ...[]byte) []string {
	var out []string
	for _, k := range keys {
		for line := range strings.SplitSeq(string(k), "\n") {
			if len(line) > 16 && !strings.HasPrefix(line, "-----") {
				out = append(out, line)
			}
		}
	}
	return out
}

// TestOpenRefuses: files that cannot be used fail Open, with errors that name the setting and
// the file and never the key.
func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	ca := newAuthority(t, "CA")
	good, other := ca.issue(t, "good"), ca.issue(t, "other")
	f := newFiles(t)
	f.writePair(t, good)
	writeFile(t, f.ca, ca.pem)
	notPEM := filepath.Join(f.dir, "not.pem")
	writeFile(t, notPEM, []byte("hello"))
	otherKey := filepath.Join(f.dir, "other.key")
	writeFile(t, otherKey, other.keyPEM)
	half := filepath.Join(f.dir, "half.crt")
	chain := append(append([]byte{}, good.certPEM...), ca.pem...)
	writeFile(t, half, chain[:len(good.certPEM)+len(ca.pem)/2]) // the leaf whole, the CA cut
	missing := filepath.Join(f.dir, "missing")

	tests := []struct {
		name     string
		given    func(c *tlsfiles.Config)
		wantErr  []string
		notExist bool // the error is fs.ErrNotExist
	}{
		{name: "no file", given: func(c *tlsfiles.Config) { *c = tlsfiles.Config{} }, wantErr: []string{"no file"}},
		{name: "cert without key", given: func(c *tlsfiles.Config) { c.Key.Path = "" },
			wantErr: []string{"x.tls.cert and x.tls.key: set both or neither"}},
		{name: "missing cert", given: func(c *tlsfiles.Config) { c.Cert.Path = missing },
			wantErr: []string{"x.tls.cert: cannot read " + missing + ": no such file"}, notExist: true},
		{name: "key is a directory", given: func(c *tlsfiles.Config) { c.Key.Path = f.dir },
			wantErr: []string{"x.tls.key: cannot read " + f.dir}},
		{name: "key of another certificate", given: func(c *tlsfiles.Config) { c.Key.Path = otherKey },
			wantErr: []string{"x.tls.cert " + f.cert + " and x.tls.key " + otherKey, "private key does not match public key"}},
		{name: "key not PEM", given: func(c *tlsfiles.Config) { c.Key.Path = notPEM },
			wantErr: []string{"x.tls.cert " + f.cert + " and x.tls.key " + notPEM}},
		{name: "cert and key swapped", given: func(c *tlsfiles.Config) { c.Cert.Path, c.Key.Path = f.key, f.cert },
			wantErr: []string{"x.tls.cert " + f.key}},
		{name: "half-written chain", given: func(c *tlsfiles.Config) { c.Cert.Path = half },
			wantErr: []string{"x.tls.cert: " + half + " ends inside a PEM block"}},
		{name: "CA not PEM", given: func(c *tlsfiles.Config) { c.CA.Path = notPEM },
			wantErr: []string{"x.tls.ca: " + notPEM + " holds no PEM certificate"}},
		{name: "CA is a key", given: func(c *tlsfiles.Config) { c.CA.Path = f.key }, wantErr: []string{"holds no PEM certificate"}},
		{name: "missing CA", given: func(c *tlsfiles.Config) { c.CA.Path = missing },
			wantErr: []string{"x.tls.ca: cannot read " + missing}, notExist: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := f.config(true, true)
			tt.given(&cfg)
			c, err := tlsfiles.Open(cfg)
			if err == nil {
				_ = c.Close()
				t.Fatal("Open succeeded")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if tt.notExist && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("error %v is not fs.ErrNotExist", err)
			}
			for _, secret := range secretLines(good.keyPEM, other.keyPEM) {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error %q shows a key", err)
				}
			}
		})
	}
}

// TestServerRotation: a server certificate replaced on disk is served to the connections
// that follow, without a restart, and the reload is logged with the new serial.
func TestServerRotation(t *testing.T) {
	t.Parallel()
	ca := newAuthority(t, "CA")
	v1 := ca.issue(t, "server v1")
	f := newFiles(t)
	f.writePair(t, v1)
	var l logs
	var reloads atomic.Int32
	cfg := f.config(true, false)
	cfg.Logger, cfg.OnReload = l.logger(), func() { reloads.Add(1) }
	c := open(t, cfg)
	addr := serve(t, c.ServerConfig(&tls.Config{MinVersion: tls.VersionTLS12}))
	client := &tls.Config{RootCAs: ca.pool()}

	if got := serialOf(addr, client); got != v1.cert.SerialNumber.String() {
		t.Fatalf("serial %q, want v1's %s", got, v1.cert.SerialNumber)
	}
	v2 := ca.issue(t, "server v2")
	f.writePair(t, v2)
	eventually(t, "v2 to be served", func() bool { return serialOf(addr, client) == v2.cert.SerialNumber.String() })
	if reloads.Load() == 0 {
		t.Error("OnReload was not called")
	}
	recs := l.records(t, "TLS certificate reloaded")
	if len(recs) == 0 || recs[len(recs)-1]["serial"] != v2.cert.SerialNumber.Text(16) || recs[len(recs)-1]["cert"] != f.cert {
		t.Fatalf("reload records %v, want one with v2's serial and the file", recs)
	}
}

// TestServerSecretRotation: cert-manager's rotation of a Kubernetes secret — tls.crt, tls.key
// and ca.crt swapped at once through the ..data symlink — gives new connections the new server
// certificate and verifies client certificates against the new CA only, resumed sessions
// included.
func TestServerSecretRotation(t *testing.T) {
	t.Parallel()
	oldCA, newCA := newAuthority(t, "old CA"), newAuthority(t, "new CA")
	oldServer, newServer := oldCA.issue(t, "server"), newCA.issue(t, "server")
	oldClient, newClient := oldCA.issue(t, "old client"), newCA.issue(t, "new client")

	dir := t.TempDir()
	version := 0
	writeVersion := func(server issued, ca *authority) string {
		version++
		v := "..2025_0" + string(rune('0'+version))
		if err := os.Mkdir(filepath.Join(dir, v), 0o700); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, v, "tls.crt"), server.certPEM)
		writeFile(t, filepath.Join(dir, v, "tls.key"), server.keyPEM)
		writeFile(t, filepath.Join(dir, v, "ca.crt"), ca.pem)
		return v
	}
	if err := os.Symlink(writeVersion(oldServer, oldCA), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"tls.crt", "tls.key", "ca.crt"} {
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	c := open(t, tlsfiles.Config{
		Cert: tlsfiles.File{Setting: "cert", Path: filepath.Join(dir, "tls.crt")},
		Key:  tlsfiles.File{Setting: "key", Path: filepath.Join(dir, "tls.key")},
		CA:   tlsfiles.File{Setting: "ca", Path: filepath.Join(dir, "ca.crt")},
	})
	addr := serve(t, c.ServerConfig(&tls.Config{MinVersion: tls.VersionTLS12, ClientAuth: tls.VerifyClientCertIfGiven}))
	roots := x509.NewCertPool()
	roots.AddCert(oldCA.cert)
	roots.AddCert(newCA.cert)
	// as presents client's certificate whatever CAs the server asks for (a crypto/tls client
	// sends none that the server's list of CAs excludes), so that the server must refuse it;
	// it resumes sessions when it can.
	as := func(client issued) *tls.Config {
		pair := client.tlsPair(t)
		return &tls.Config{RootCAs: roots, ClientSessionCache: tls.NewLRUClientSessionCache(4),
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				return &pair, nil
			}}
	}
	old := as(oldClient)
	if got := serialOf(addr, old); got != oldServer.cert.SerialNumber.String() {
		t.Fatalf("before the rotation: serial %q, want the old server's", got)
	}
	if state, err := dial(addr, old); err != nil || !state.DidResume {
		t.Fatalf("before the rotation: resumed %t, %v; want a resumed session", state.DidResume, err)
	}
	if _, err := dial(addr, as(newClient)); err == nil {
		t.Fatal("before the rotation, a client certificate of the new CA was accepted")
	}

	tmp := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink(writeVersion(newServer, newCA), tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the new certificate to be served to a client of the new CA", func() bool {
		return serialOf(addr, as(newClient)) == newServer.cert.SerialNumber.String()
	})
	// A session of the old CA's client is not resumed either: crypto/tls checks a session's
	// client certificate against the ClientCAs of the config in force.
	if state, err := dial(addr, old); err == nil {
		t.Fatalf("after the rotation, a client certificate of the old CA was accepted (resumed: %t)", state.DidResume)
	}
}

// TestClientRotation: a client's CA bundle and client certificate replaced on disk are used by
// the connections that follow: a server first not trusted becomes trusted, and the server
// sees the new client certificate.
func TestClientRotation(t *testing.T) {
	t.Parallel()
	serverCA, clientCA, stranger := newAuthority(t, "server CA"), newAuthority(t, "client CA"), newAuthority(t, "stranger")
	var (
		mu   sync.Mutex
		seen []string // serials of the client certificates the server accepted
	)
	addr := serve(t, &tls.Config{
		Certificates: []tls.Certificate{serverCA.issue(t, "server").tlsPair(t)},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    clientCA.pool(),
		VerifyConnection: func(cs tls.ConnectionState) error {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, cs.PeerCertificates[0].SerialNumber.String())
			return nil
		},
	})
	lastSeen := func() string {
		mu.Lock()
		defer mu.Unlock()
		if len(seen) == 0 {
			return ""
		}
		return seen[len(seen)-1]
	}

	f := newFiles(t)
	v1 := clientCA.issue(t, "client v1")
	f.writePair(t, v1)
	writeFile(t, f.ca, stranger.pem)
	c := open(t, f.config(true, true))
	template := &tls.Config{MinVersion: tls.VersionTLS12}

	_, err := dial(addr, c.ClientConfig(template))
	var verify *tls.CertificateVerificationError
	if !errors.As(err, &verify) {
		t.Fatalf("with the wrong CA: %v, want a certificate verification error", err)
	}
	writeFile(t, f.ca, serverCA.pem) // in place
	eventually(t, "the server to be trusted", func() bool {
		_, err := dial(addr, c.ClientConfig(template))
		return err == nil
	})
	if got := lastSeen(); got != v1.cert.SerialNumber.String() {
		t.Fatalf("the server saw client serial %q, want v1's", got)
	}

	v2 := clientCA.issue(t, "client v2")
	f.writePair(t, v2)
	eventually(t, "the server to see v2", func() bool {
		_, _ = dial(addr, c.ClientConfig(template))
		return lastSeen() == v2.cert.SerialNumber.String()
	})
	if template.RootCAs != nil || len(template.Certificates) != 0 {
		t.Fatal("ClientConfig changed its template")
	}
}

// TestFailedReloadKeepsMaterial: a rewrite that cannot be used keeps the material in force,
// logs an error once (not at every reload of the same content) that never shows a key, and
// the next good rewrite is taken. The bad files are renamed into place, so that no reload
// reads a third content in between (a file truncated, not yet written) and logs it too.
func TestFailedReloadKeepsMaterial(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		given   func(t *testing.T, f files, next issued)
		wantLog string
	}{
		{name: "garbage certificate", wantLog: "TLS certificate reload failed",
			given: func(t *testing.T, f files, _ issued) { replace(t, f.cert, []byte("garbage")) }},
		{name: "half-written certificate", wantLog: "TLS certificate reload failed",
			given: func(t *testing.T, f files, next issued) { replace(t, f.cert, next.certPEM[:len(next.certPEM)/2]) }},
		{name: "key of another certificate", wantLog: "TLS certificate reload failed",
			given: func(t *testing.T, f files, next issued) { replace(t, f.cert, next.certPEM) }},
		{name: "certificate removed", wantLog: "TLS certificate reload failed",
			given: func(t *testing.T, f files, _ issued) {
				if err := os.Remove(f.cert); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "garbage CA", wantLog: "TLS CA reload failed",
			given: func(t *testing.T, f files, _ issued) { replace(t, f.ca, []byte("garbage")) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ca := newAuthority(t, "CA")
			v1, v2, client := ca.issue(t, "v1"), ca.issue(t, "v2"), ca.issue(t, "client")
			f := newFiles(t)
			f.writePair(t, v1)
			writeFile(t, f.ca, ca.pem)
			var l logs
			var reloads atomic.Int32
			cfg := f.config(true, true)
			cfg.Interval = 10 * time.Millisecond // many reloads of the same bad content
			cfg.Logger, cfg.OnReload = l.logger(), func() { reloads.Add(1) }
			c := open(t, cfg)
			addr := serve(t, c.ServerConfig(&tls.Config{ClientAuth: tls.RequireAndVerifyClientCert}))
			clientConfig := &tls.Config{RootCAs: ca.pool(), Certificates: []tls.Certificate{client.tlsPair(t)}}

			tt.given(t, f, v2)
			eventually(t, "the error log", func() bool { return len(l.records(t, tt.wantLog)) > 0 })
			if got := serialOf(addr, clientConfig); got != v1.cert.SerialNumber.String() {
				t.Fatalf("after a bad rewrite: serial %q, want v1's (and the CA of v1 in force)", got)
			}
			time.Sleep(200 * time.Millisecond) // 20 intervals, each a reload of the same content
			if n := len(l.records(t, tt.wantLog)); n != 1 {
				t.Fatalf("%d error records for one bad content, want 1", n)
			}
			if n := reloads.Load(); n != 0 {
				t.Fatalf("OnReload called %d times for failed reloads", n)
			}
			for _, secret := range secretLines(v1.keyPEM, v2.keyPEM) {
				if strings.Contains(l.String(), secret) {
					t.Fatal("the log shows a key")
				}
			}

			f.writePair(t, v2)
			replace(t, f.ca, ca.pem)
			eventually(t, "v2 after the good rewrite", func() bool { return serialOf(addr, clientConfig) == v2.cert.SerialNumber.String() })
		})
	}
}

// TestReloadIsPerPart: a bad CA bundle does not hold back a good certificate, and the reverse.
func TestReloadIsPerPart(t *testing.T) {
	t.Parallel()
	ca := newAuthority(t, "CA")
	v1, v2, client := ca.issue(t, "v1"), ca.issue(t, "v2"), ca.issue(t, "client")
	f := newFiles(t)
	f.writePair(t, v1)
	writeFile(t, f.ca, ca.pem)
	var l logs
	cfg := f.config(true, true)
	cfg.Logger = l.logger()
	c := open(t, cfg)
	addr := serve(t, c.ServerConfig(&tls.Config{ClientAuth: tls.RequireAndVerifyClientCert}))
	clientConfig := &tls.Config{RootCAs: ca.pool(), Certificates: []tls.Certificate{client.tlsPair(t)}}

	writeFile(t, f.ca, []byte("garbage"))
	f.writePair(t, v2)
	eventually(t, "v2 with the CA kept", func() bool { return serialOf(addr, clientConfig) == v2.cert.SerialNumber.String() })
	if len(l.records(t, "TLS CA reload failed")) == 0 {
		t.Fatal("the bad CA was not logged")
	}
}
