package teleportsim

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/gravitational/teleport/api/constants"
	"github.com/gravitational/teleport/api/identityfile"
	"golang.org/x/crypto/ssh"
)

// File names of the credentials a Server writes into its credentials directory. They follow
// what `tctl auth sign` writes: --format=file (the default) writes one identity file,
// --format=tls writes <out>.crt, <out>.key and <out>.cas.
const (
	IdentityFileName = "identity"
	CertFileName     = "tls.crt"
	KeyFileName      = "tls.key"
	CAFileName       = "tls.cas"
)

// CredentialPaths are the files a Server wrote for its client, each readable by its owner
// only (0600). Identity is for client.LoadIdentityFile and client.NewDynamicIdentityFileCreds;
// Cert, Key and CA are for client.LoadKeyPair(Cert, Key, CA). Server.ReissueIdentity replaces
// each file atomically but one after the other (CA, Key, Cert, then Identity): a reader of the
// key pair during a reissue can see the new key with the old certificate and should retry;
// the identity file is always consistent.
type CredentialPaths struct {
	Identity string `json:"identity"`
	Cert     string `json:"cert"`
	Key      string `json:"key"`
	CA       string `json:"ca"`
}

func credentialPaths(dir string) CredentialPaths {
	return CredentialPaths{
		Identity: filepath.Join(dir, IdentityFileName),
		Cert:     filepath.Join(dir, CertFileName),
		Key:      filepath.Join(dir, KeyFileName),
		CA:       filepath.Join(dir, CAFileName),
	}
}

// sshInternalJoinPrincipal is on every Teleport user SSH certificate; the client's dynamic
// identity credentials log in to the proxy with it.
const sshInternalJoinPrincipal = "-teleport-internal-join"

// authority is the simulated cluster's certificate authorities, created in memory. One ECDSA
// P-256 key (the algorithm of Teleport's "balanced" signature-algorithm suite) signs the TLS
// certificates (server and client) and the SSH user certificates, where Teleport keeps
// separate host and user CAs; a client cannot tell. It is immutable after newAuthority, so its
// methods are safe for concurrent use.
type authority struct {
	clusterName string
	key         *ecdsa.PrivateKey
	cert        *x509.Certificate
	certPEM     []byte
	sshSigner   ssh.Signer
}

func newAuthority(clusterName string) (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	now := time.Now().UTC()
	tmpl := &x509.Certificate{
		SerialNumber: serialNumber(),
		// Teleport's TLS host CA names its subject after the cluster (CN and O).
		Subject:               pkix.Name{CommonName: clusterName, Organization: []string{clusterName}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	sshSigner, err := ssh.NewSignerFromSigner(key)
	if err != nil {
		return nil, fmt.Errorf("SSH CA signer: %w", err)
	}
	return &authority{
		clusterName: clusterName,
		key:         key,
		cert:        cert,
		certPEM:     pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		sshSigner:   sshSigner,
	}, nil
}

// pool returns a pool that trusts this authority.
func (a *authority) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(a.cert)
	return p
}

// serverCertificate issues the Auth Service's TLS certificate, valid for
// teleport.cluster.local (the name Teleport's client always verifies), localhost, 127.0.0.1
// and ::1.
func (a *authority) serverCertificate() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generate server key: %w", err)
	}
	now := time.Now().UTC()
	tmpl := &x509.Certificate{
		SerialNumber: serialNumber(),
		// Teleport's host certificates carry the host ID as CN and the system role as O.
		Subject:     pkix.Name{CommonName: "auth." + a.clusterName, Organization: []string{"Auth"}},
		NotBefore:   now.Add(-time.Minute),
		NotAfter:    now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:    []string{constants.APIDomain, "*." + constants.APIDomain, "localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, key.Public(), a.key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("create server certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// clientIdentity is one user's client credentials, PEM and authorized_keys encoded.
type clientIdentity struct {
	keyPEM     []byte // the private key of both certificates (PKCS#8)
	tlsCertPEM []byte
	sshCert    []byte // authorized_keys line
	notAfter   time.Time
}

// issueIdentity issues a new key and certificates for user, valid for ttl from now. The TLS
// certificate is shaped like Teleport's user certificates: CN is the user, O the user's roles,
// STREET the cluster the certificate routes to.
func (a *authority) issueIdentity(user string, roles []string, ttl time.Duration) (*clientIdentity, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate client key: %w", err)
	}
	now := time.Now().UTC()
	notAfter := now.Add(ttl)
	tmpl := &x509.Certificate{
		SerialNumber: serialNumber(),
		Subject: pkix.Name{
			CommonName:    user,
			Organization:  roles,
			StreetAddress: []string{a.clusterName},
		},
		NotBefore:   now.Add(-time.Minute),
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, key.Public(), a.key)
	if err != nil {
		return nil, fmt.Errorf("create client certificate: %w", err)
	}
	sshCert, err := a.sshUserCertificate(key, user, now, notAfter)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal client key: %w", err)
	}
	return &clientIdentity{
		keyPEM:     pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		tlsCertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		sshCert:    sshCert,
		notAfter:   notAfter,
	}, nil
}

func (a *authority) sshUserCertificate(key crypto.Signer, user string, validAfter, validBefore time.Time) ([]byte, error) {
	pub, err := ssh.NewPublicKey(key.Public())
	if err != nil {
		return nil, fmt.Errorf("SSH public key: %w", err)
	}
	cert := &ssh.Certificate{
		Key:             pub,
		Serial:          serialNumber().Uint64(),
		CertType:        ssh.UserCert,
		KeyId:           user,
		ValidPrincipals: []string{user, sshInternalJoinPrincipal},
		ValidAfter:      uint64(validAfter.Add(-time.Minute).Unix()),
		ValidBefore:     uint64(validBefore.Unix()),
		Permissions: ssh.Permissions{Extensions: map[string]string{
			"permit-agent-forwarding": "",
			"permit-port-forwarding":  "",
			"permit-pty":              "",
		}},
	}
	if err := cert.SignCert(rand.Reader, a.sshSigner); err != nil {
		return nil, fmt.Errorf("sign SSH certificate: %w", err)
	}
	return ssh.MarshalAuthorizedKey(cert), nil
}

// knownHostsLine is the SSH CA entry of an identity file, in OpenSSH known_hosts format, as
// tctl writes it.
func (a *authority) knownHostsLine() []byte {
	pub := ssh.MarshalAuthorizedKey(a.sshSigner.PublicKey()) // "<type> <base64>\n"
	return fmt.Appendf(nil, "@cert-authority %s,*.%s %s type=host\n",
		a.clusterName, a.clusterName, pub[:len(pub)-1])
}

// writeIdentity writes id into dir as an identity file and as a TLS key pair + CA file, each
// replaced atomically (written to a temporary file in dir, then renamed), so a reader sees
// either the old or the new file, never a partial one. The identity file is written last: a
// watcher of it finds the key-pair files already up to date.
func (a *authority) writeIdentity(dir string, id *clientIdentity) error {
	paths := credentialPaths(dir)
	idFile, err := identityfile.Encode(&identityfile.IdentityFile{
		PrivateKey: id.keyPEM,
		Certs:      identityfile.Certs{SSH: id.sshCert, TLS: id.tlsCertPEM},
		CACerts: identityfile.CACerts{
			SSH: [][]byte{a.knownHostsLine()},
			TLS: [][]byte{a.certPEM},
		},
	})
	if err != nil {
		return fmt.Errorf("encode identity file: %w", err)
	}
	for _, f := range []struct {
		path string
		data []byte
	}{
		{paths.CA, a.certPEM},
		{paths.Key, id.keyPEM},
		{paths.Cert, id.tlsCertPEM},
		{paths.Identity, idFile},
	} {
		if err := writeFileAtomic(f.path, f.data); err != nil {
			return err
		}
	}
	return nil
}

// writeFileAtomic replaces path with data (mode 0600) through a rename.
func writeFileAtomic(path string, data []byte) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return nil
}

// serialNumber returns a random 128-bit certificate serial number.
func serialNumber() *big.Int {
	// rand.Int fails only when the system's random source does, which crypto/rand treats
	// as fatal since Go 1.24 (it never returns an error).
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	return n
}
