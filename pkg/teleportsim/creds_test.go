package teleportsim

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gravitational/teleport/api/client"
	"github.com/gravitational/teleport/api/constants"
	"github.com/gravitational/teleport/api/identityfile"
	"github.com/gravitational/teleport/api/utils/sshutils"
	"golang.org/x/crypto/ssh"
)

// TestCredentialFiles checks the files against what tctl auth sign writes and Teleport's
// parsers expect.
func TestCredentialFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "creds")
	s := startSim(t, ServerConfig{Log: simLog(t, 10, Options{}), CredentialsDir: dir,
		ClusterName: "sim.example.com", User: "exporter", IdentityTTL: 3 * time.Hour})
	paths := s.Credentials()
	if paths != credentialPaths(dir) {
		t.Fatalf("Credentials = %+v", paths)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("credentials dir: %v, %v", fi, err)
	}
	for _, p := range []string{paths.Identity, paths.Cert, paths.Key, paths.CA} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v, %v", p, fi, err)
		}
	}

	raw, err := os.ReadFile(paths.Identity)
	if err != nil {
		t.Fatal(err)
	}
	id, err := identityfile.ReadFile(paths.Identity)
	if err != nil {
		t.Fatalf("identityfile.ReadFile: %v", err)
	}
	// The file is exactly Teleport's encoding of its parts: key, SSH cert, TLS cert, SSH CAs,
	// TLS CAs.
	if encoded, err := identityfile.Encode(id); err != nil || !bytes.Equal(encoded, raw) {
		t.Fatalf("the identity file is not in Teleport's layout (%v)", err)
	}
	readFile := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if !bytes.Equal(id.PrivateKey, readFile(paths.Key)) || !bytes.Equal(id.Certs.TLS, readFile(paths.Cert)) ||
		len(id.CACerts.TLS) != 1 || !bytes.Equal(id.CACerts.TLS[0], readFile(paths.CA)) {
		t.Fatal("the key pair files differ from the identity file")
	}

	// TLS: a client certificate shaped like Teleport's, chained to the CA.
	block, _ := pem.Decode(id.Certs.TLS)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != "exporter" || !slices.Equal(cert.Subject.Organization, []string{"exporter"}) ||
		!slices.Equal(cert.Subject.StreetAddress, []string{"sim.example.com"}) {
		t.Fatalf("subject %v", cert.Subject)
	}
	if ttl := time.Until(cert.NotAfter); ttl < 3*time.Hour-time.Minute || ttl > 3*time.Hour {
		t.Fatalf("expires in %v, want 3h", ttl)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(id.CACerts.TLS[0])
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("client certificate: %v", err)
	}
	if exp, ok := client.LoadIdentityFile(paths.Identity).Expiry(); !ok || !exp.Equal(cert.NotAfter) {
		t.Fatalf("client.LoadIdentityFile Expiry = %v, %v", exp, ok)
	}

	// SSH: a user certificate for the user, signed by the CA in the known_hosts line.
	sshCert, err := sshutils.ParseCertificate(id.Certs.SSH)
	if err != nil {
		t.Fatal(err)
	}
	cas, err := sshutils.ParseKnownHosts(id.CACerts.SSH, "sim.example.com")
	if err != nil || len(cas) != 1 {
		t.Fatalf("known_hosts CA: %v, %v", cas, err)
	}
	if sshCert.CertType != ssh.UserCert || sshCert.KeyId != "exporter" || !slices.Contains(sshCert.ValidPrincipals, "exporter") ||
		!sshutils.KeysEqual(sshCert.SignatureKey, cas[0]) {
		t.Fatalf("SSH certificate %+v", sshCert)
	}
	checker := ssh.CertChecker{IsUserAuthority: func(k ssh.PublicKey) bool { return sshutils.KeysEqual(k, cas[0]) }}
	if err := checker.CheckCert("exporter", sshCert); err != nil {
		t.Fatalf("SSH certificate: %v", err)
	}
	if _, err := id.SSHClientConfig(); err != nil {
		t.Fatalf("SSHClientConfig: %v", err)
	}
}

// TestServerCertificate checks the names Teleport's client and local tools verify.
func TestServerCertificate(t *testing.T) {
	ca, err := newAuthority("sim.example.com")
	if err != nil {
		t.Fatal(err)
	}
	c, err := ca.serverCertificate()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{constants.APIDomain, "127.0.0.1", "localhost"} {
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: name, Roots: ca.pool()}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestReissueIdentity shows credential reload as tbot users do it: the identity file is
// replaced with a new certificate, DynamicIdentityFileCreds.Reload picks it up, and new
// connections succeed after the old certificate has expired, while the old file is refused.
func TestReissueIdentity(t *testing.T) {
	// A certificate's NotAfter is whole seconds: a 3 s lifetime is 2 to 3 s from the issue,
	// which the first Ping must fit in on a loaded machine (2 s left as little as 1 s).
	s := startSim(t, ServerConfig{Log: simLog(t, 10, Options{}), IdentityTTL: 3 * time.Second})
	path := s.Credentials().Identity
	oldFile := filepath.Join(t.TempDir(), "old-identity")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(oldFile, raw, 0o600); err != nil {
		t.Fatal(err)
	}

	creds, err := client.NewDynamicIdentityFileCreds(path)
	if err != nil {
		t.Fatalf("NewDynamicIdentityFileCreds: %v", err)
	}
	oldExpiry, _ := creds.Expiry()
	clt := dialSim(t, s.Addr(), creds)
	if _, err := clt.Ping(context.Background()); err != nil {
		t.Fatalf("Ping with the first identity: %v", err)
	}

	if err := s.ReissueIdentity(time.Hour); err != nil {
		t.Fatalf("ReissueIdentity: %v", err)
	}
	if err := creds.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	newExpiry, _ := creds.Expiry()
	if !newExpiry.After(oldExpiry.Add(50 * time.Minute)) {
		t.Fatalf("expiry after reload %v, before %v", newExpiry, oldExpiry)
	}
	if exp, _ := client.LoadKeyPair(s.Credentials().Cert, s.Credentials().Key, s.Credentials().CA).Expiry(); !exp.Equal(newExpiry) {
		t.Fatalf("key pair expires %v, identity %v", exp, newExpiry)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*.tmp-*")); len(leftovers) > 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}

	time.Sleep(time.Until(oldExpiry.Add(200 * time.Millisecond)))
	fresh := dialSim(t, s.Addr(), creds) // a new connection presents the reloaded certificate
	if _, err := fresh.Ping(context.Background()); err != nil {
		t.Fatalf("Ping after reload: %v", err)
	}
	if stale, err := newSimClient(context.Background(), s.Addr(), client.LoadIdentityFile(oldFile), time.Second); err == nil {
		_, err = stale.Ping(context.Background())
		_ = stale.Close()
		if err == nil {
			t.Fatal("the expired identity was accepted")
		}
	}
}
