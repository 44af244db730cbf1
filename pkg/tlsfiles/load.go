package tlsfiles

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// loadPair reads and parses the key pair of cert and key. tried fingerprints what was read
// (the contents, or the error of reading), also when err is not nil.
func loadPair(cert, key File) (pair *tls.Certificate, tried [sha256.Size]byte, err error) {
	certPEM, certErr := readFile(cert)
	keyPEM, keyErr := readFile(key)
	if err := errors.Join(certErr, keyErr); err != nil {
		return nil, fingerprint([]byte(err.Error())), err
	}
	tried = fingerprint(certPEM, keyPEM)
	// crypto/tls's errors describe the PEM blocks' types and whether the key matches the
	// certificate; they never quote key material.
	p, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, tried, fmt.Errorf("%s %s and %s %s: %w", cert.Setting, cert.Path, key.Setting, key.Path, err)
	}
	if p.Leaf == nil { // GODEBUG=x509keypairleaf=0; X509KeyPair has parsed it once already
		if p.Leaf, err = x509.ParseCertificate(p.Certificate[0]); err != nil {
			return nil, tried, fmt.Errorf("%s %s: %w", cert.Setting, cert.Path, err)
		}
	}
	return &p, tried, nil
}

// loadPool reads and parses the CA bundle of ca: every CERTIFICATE block that parses, as
// x509.CertPool.AppendCertsFromPEM takes them; n is how many. At least one is needed. tried is
// as loadPair's.
func loadPool(ca File) (pool *x509.CertPool, n int, tried [sha256.Size]byte, err error) {
	data, err := readFile(ca)
	if err != nil {
		return nil, 0, fingerprint([]byte(err.Error())), err
	}
	tried = fingerprint(data)
	pool = x509.NewCertPool()
	for rest := data; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		if block.Type != "CERTIFICATE" || len(block.Headers) != 0 {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			continue
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, 0, tried, fmt.Errorf("%s: %s holds no PEM certificate", ca.Setting, ca.Path)
	}
	return pool, n, tried, nil
}

// readFile reads f, with an error that says which setting and file failed and why, without
// the file's contents. A file that ends inside a PEM block is refused: it is being written,
// and what precedes the cut would parse as a shorter chain or bundle.
func readFile(f File) ([]byte, error) {
	b, err := os.ReadFile(f.Path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is in the message already
		}
		return nil, fmt.Errorf("%s: cannot read %s: %w", f.Setting, f.Path, err)
	}
	if truncated(b) {
		return nil, fmt.Errorf("%s: %s ends inside a PEM block (is it being written?)", f.Setting, f.Path)
	}
	return b, nil
}

// truncated reports whether data has a "-----BEGIN" line after its last complete PEM block.
func truncated(data []byte) bool {
	rest := data
	for {
		block, r := pem.Decode(rest)
		if block == nil {
			return bytes.Contains(rest, []byte("-----BEGIN"))
		}
		rest = r
	}
}

// fingerprint is the SHA-256 of parts, each preceded by its length, so that the parts cannot
// run into each other.
func fingerprint(parts ...[]byte) [sha256.Size]byte {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:", len(p))
		h.Write(p)
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}
