package clients

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/auditpipe/auditpipe/pkg/config"
)

// NATS connects to nats.url with nats.creds under the connection name name (e.g.
// "auditpipe-ingest <owner>"), and reconnects forever after a loss, logging each loss and
// recovery on logger. With nats.tls enabled (config turns it on for a tls:// or wss:// URL)
// the connection requires TLS 1.2 or later, verifies the server against nats.tls.ca (the
// system roots without it) and the host name of the URL it dials, and presents the client
// certificate nats.tls.cert when set. The first connection must succeed: a service that
// cannot reach NATS at start exits with the error. The caller closes the connection.
func NATS(cfg config.NATS, name string, logger *slog.Logger) (*nats.Conn, error) {
	tc, err := clientTLS("nats.tls", cfg.TLS)
	if err != nil {
		return nil, err
	}
	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: closed by this process
				logger.Warn("NATS connection lost; reconnecting", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			logger.Info("NATS reconnected", "url", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			logger.Warn("NATS error", "err", err)
		}),
	}
	if cfg.Creds != "" {
		opts = append(opts, nats.UserCredentials(cfg.Creds))
	}
	if tc != nil {
		opts = append(opts, nats.Secure(tc))
	}
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("nats: connect to %s: %w", cfg.URL, err)
	}
	if v := nc.ConnectedServerVersion(); !natsServerAtLeast(v, minNATSServer) {
		url := nc.ConnectedUrlRedacted()
		nc.Close()
		return nil, fmt.Errorf("nats: %s runs nats-server %s; auditpipe needs %d.%d or later "+
			"(its consumers filter on several subjects)", url, v, minNATSServer[0], minNATSServer[1])
	}
	return nc, nil
}

// minNATSServer is the oldest nats-server release auditpipe works with (major, minor): 2.10
// brought consumers with several filter subjects, which the shipper's consumers are.
var minNATSServer = [2]int{2, 10}

// natsServerAtLeast reports whether the server version v ("2.10.4", "2.11.0-RC.1") is at least
// major.minor min. A version that does not parse passes: a server with an unusual version
// string is given the benefit of the doubt, and JetStream's own errors still apply.
func natsServerAtLeast(v string, min [2]int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return true
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return true
	}
	return major > min[0] || major == min[0] && minor >= min[1]
}

// NATSConnected is a readiness check (health.Check) of nc: nil while connected, else an error
// that names the connection's state (e.g. "nats: RECONNECTING").
func NATSConnected(nc *nats.Conn) func(context.Context) error {
	return func(context.Context) error {
		if !nc.IsConnected() {
			return fmt.Errorf("nats: %s", nc.Status())
		}
		return nil
	}
}
