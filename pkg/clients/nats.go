package clients

import (
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go"

	"github.com/auditpipe/auditpipe/pkg/config"
)

// NATS connects to nats.url with nats.creds under the connection name name (e.g.
// "auditpipe-ingest <owner>"), and reconnects forever after a loss, logging each loss and
// recovery on logger. The first connection must succeed: a service that cannot reach NATS at
// start exits with the error. The caller closes the connection.
func NATS(cfg config.NATS, name string, logger *slog.Logger) (*nats.Conn, error) {
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
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("nats: connect to %s: %w", cfg.URL, err)
	}
	return nc, nil
}
