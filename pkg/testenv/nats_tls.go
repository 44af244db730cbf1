package testenv

import (
	"crypto/tls"

	"github.com/nats-io/nats-server/v2/server"
)

// WithTLS makes the server require TLS with tc, which holds the server's certificate; when
// tc.ClientAuth is tls.RequireAndVerifyClientCert, the server also verifies client
// certificates against tc.ClientCAs (nats-server's `verify: true`). [NATSServer.Conn] does not
// speak TLS: connect with a client configured for it.
func WithTLS(tc *tls.Config) NATSOption {
	return func(o *server.Options) {
		o.TLS = true
		o.TLSConfig = tc
		o.TLSVerify = tc.ClientAuth == tls.RequireAndVerifyClientCert
		o.TLSTimeout = 5 // seconds, for the handshake on a loaded test machine
	}
}
