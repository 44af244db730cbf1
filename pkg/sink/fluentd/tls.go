package fluentd

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/auditpipe/auditpipe/pkg/config"
)

// clientTLS builds the TLS client setup: TLS 1.2 or later, Fluentd verified against the CA
// file (the system roots when none is set), and the client certificate for mutual TLS when
// cert and key are set. Errors name the files, never their contents.
func clientTLS(cfg config.Fluentd) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CA != "" {
		pem, err := readFile("ca", cfg.CA)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: ca: %s holds no PEM certificate", ErrConfig, cfg.CA)
		}
		tc.RootCAs = pool
	}
	switch {
	case cfg.Cert == "" && cfg.Key == "":
	case cfg.Cert == "" || cfg.Key == "":
		return nil, fmt.Errorf("%w: cert and key: set both for mutual TLS, or neither", ErrConfig)
	default:
		certPEM, err := readFile("cert", cfg.Cert)
		if err != nil {
			return nil, err
		}
		keyPEM, err := readFile("key", cfg.Key)
		if err != nil {
			return nil, err
		}
		// crypto/tls's errors describe the PEM blocks' types and whether the key matches the
		// certificate; they never quote key material.
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("%w: cert %s and key %s: %v", ErrConfig, cfg.Cert, cfg.Key, err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return tc, nil
}

// readFile reads the file of config key name, with an error that says which key and file
// failed and why, without the file's contents.
func readFile(key, path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%w: %s: cannot read %s: %v", ErrConfig, key, path, err)
	}
	return b, nil
}
