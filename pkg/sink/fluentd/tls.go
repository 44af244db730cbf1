package fluentd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/tlsfiles"
)

// tlsHandshakeTimeout bounds one TLS handshake with Fluentd.
const tlsHandshakeTimeout = 10 * time.Second

// clientTLS is the sink's TLS client side: TLS 1.2 or later, Fluentd verified against the ca
// file (the system roots when none is set) and the host of the URL, and the client certificate
// for mutual TLS when cert and key are set. The files are re-read when they change (and every
// tlsfiles.DefaultInterval), and every new connection handshakes with the newest ones: a
// connection's config is made when it is dialled (see Sink.dialTLS), and crypto/tls verifies
// Fluentd with it exactly as it always does. Safe for concurrent use.
type clientTLS struct {
	template *tls.Config
	files    *tlsfiles.Credentials // nil without ca, cert and key
}

// newClientTLS reads the TLS files of cfg. onReload runs after a reload has put new files in
// force. Errors wrap ErrConfig, name the key and the file, never a file's contents.
func newClientTLS(cfg config.Fluentd, log *slog.Logger, onReload func()) (*clientTLS, error) {
	c := &clientTLS{template: &tls.Config{MinVersion: tls.VersionTLS12}}
	switch {
	case (cfg.Cert == "") != (cfg.Key == ""):
		return nil, fmt.Errorf("%w: cert and key: set both for mutual TLS, or neither", ErrConfig)
	case cfg.CA == "" && cfg.Cert == "":
		return c, nil
	}
	files, err := tlsfiles.Open(tlsfiles.Config{
		Cert:     tlsfiles.File{Setting: "cert", Path: cfg.Cert},
		Key:      tlsfiles.File{Setting: "key", Path: cfg.Key},
		CA:       tlsfiles.File{Setting: "ca", Path: cfg.CA},
		Interval: tlsfiles.DefaultInterval,
		Logger:   log,
		OnReload: onReload,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	c.files = files
	return c, nil
}

// config returns the config of one new connection to serverName, with the newest files.
func (c *clientTLS) config(serverName string) *tls.Config {
	var tc *tls.Config
	if c.files != nil {
		tc = c.files.ClientConfig(c.template)
	} else {
		tc = c.template.Clone()
	}
	tc.ServerName = serverName
	return tc
}

// close stops re-reading the files.
func (c *clientTLS) close() error {
	if c.files == nil {
		return nil
	}
	return c.files.Close()
}

// dialTLS is the transport's DialTLSContext: it connects to addr and completes the TLS
// handshake with the config of this moment, as http.Transport would with a fixed
// TLSClientConfig (server name: the host of addr; at most tlsHandshakeTimeout). It exists so
// that rotated files take effect without a new transport.
func (s *Sink) dialTLS(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	raw, err := s.dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	conn := tls.Client(raw, s.tls.config(host))
	hctx, cancel := context.WithTimeout(ctx, tlsHandshakeTimeout)
	defer cancel()
	if err := conn.HandshakeContext(hctx); err != nil {
		_ = raw.Close()
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("TLS handshake with %s: no answer within %v", addr, tlsHandshakeTimeout)
		}
		return nil, err
	}
	return conn, nil
}
