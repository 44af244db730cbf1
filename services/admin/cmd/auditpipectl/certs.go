package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"
)

// keyPair is a certificate and its private key, PEM encoded.
type keyPair struct {
	CertPEM, KeyPEM []byte
	cert            *x509.Certificate
	key             crypto.Signer
}

// mtlsSet is the mutual-TLS material of a Fluentd in_http source: a CA, Fluentd's server
// certificate and auditpipe's client certificate, both signed by the CA.
type mtlsSet struct {
	CA, Server, Client keyPair
}

// certRequest is what the certificates say.
type certRequest struct {
	// ServerDNS and ServerIPs are the server certificate's SANs; ServerCN its common name.
	ServerCN  string
	ServerDNS []string
	ServerIPs []net.IP
	// ClientCN names auditpipe in the client certificate.
	ClientCN string
	// NotBefore and TTL bound every certificate's validity: [NotBefore, NotBefore+TTL].
	NotBefore time.Time
	TTL       time.Duration
}

// newMTLS makes a fresh CA, and server and client certificates it signs. Keys are ECDSA
// P-256, which Fluentd (Ruby OpenSSL) and Go read alike.
func newMTLS(r certRequest) (*mtlsSet, error) {
	notAfter := r.NotBefore.Add(r.TTL)
	ca, err := makeCert(&x509.Certificate{
		Subject:               pkix.Name{CommonName: "auditpipe Fluentd CA", Organization: []string{"auditpipe"}},
		NotBefore:             r.NotBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("CA: %w", err)
	}
	server, err := makeCert(&x509.Certificate{
		Subject:     pkix.Name{CommonName: r.ServerCN, Organization: []string{"auditpipe"}},
		DNSNames:    r.ServerDNS,
		IPAddresses: r.ServerIPs,
		NotBefore:   r.NotBefore,
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, &ca)
	if err != nil {
		return nil, fmt.Errorf("server certificate: %w", err)
	}
	client, err := makeCert(&x509.Certificate{
		Subject:     pkix.Name{CommonName: r.ClientCN, Organization: []string{"auditpipe"}},
		NotBefore:   r.NotBefore,
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, &ca)
	if err != nil {
		return nil, fmt.Errorf("client certificate: %w", err)
	}
	return &mtlsSet{CA: ca, Server: server, Client: client}, nil
}

// serialLimit bounds random serial numbers to 128 bits.
var serialLimit = new(big.Int).Lsh(big.NewInt(1), 128)

// makeCert makes a key and a certificate from tmpl, signed by parent (self-signed when nil).
func makeCert(tmpl *x509.Certificate, parent *keyPair) (keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return keyPair{}, err
	}
	if tmpl.SerialNumber, err = rand.Int(rand.Reader, serialLimit); err != nil {
		return keyPair{}, err
	}
	signerCert, signerKey := tmpl, crypto.Signer(key)
	if parent != nil {
		signerCert, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, key.Public(), signerKey)
	if err != nil {
		return keyPair{}, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return keyPair{}, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return keyPair{}, err
	}
	return keyPair{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
		cert:    cert,
		key:     key,
	}, nil
}
