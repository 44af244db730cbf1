package teleportsrc

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gravitational/teleport/api/client"

	"github.com/auditpipe/auditpipe/pkg/config"
)

// credentials are the Client's identity: the client.Credentials its connection uses, and the
// expiry of the certificate they present. Safe for concurrent use.
//
// An identity file with teleport.refresh.enabled is loaded as client.DynamicIdentityFileCreds:
// a reload swaps the certificate, key and CAs in place, and every connection made afterwards
// (a reconnect) presents the new certificate. Connections that are up keep the certificate
// they were opened with; Teleport checks it only at the handshake. Other credentials are
// loaded once, as teleport-event-handler does.
type credentials struct {
	client.Credentials
	// identity is the reloadable identity file; nil when the credentials are not reloaded.
	identity *client.DynamicIdentityFileCreds
	log      *slog.Logger
	metrics  *metrics

	reloadMu sync.Mutex   // serializes reloads
	notAfter atomic.Int64 // the certificate's NotAfter, Unix nanoseconds
	// changed receives a value, without blocking, whenever notAfter changes.
	changed chan struct{}
}

// loadCredentials reads the credentials cfg names (an identity file, or cert, key and CA) and
// checks that they hold a usable certificate. Errors wrap ErrCredentials.
func loadCredentials(cfg config.Teleport, log *slog.Logger, m *metrics) (*credentials, error) {
	c := &credentials{log: log, metrics: m, changed: make(chan struct{}, 1)}
	what := "key pair " + cfg.Cert
	switch {
	case cfg.Identity != "" && cfg.Refresh.Enabled:
		what = "identity file " + cfg.Identity
		id, err := client.NewDynamicIdentityFileCreds(cfg.Identity)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrCredentials, what, err)
		}
		c.Credentials, c.identity = id, id
	case cfg.Identity != "":
		what = "identity file " + cfg.Identity
		c.Credentials = client.LoadIdentityFile(cfg.Identity)
	default:
		c.Credentials = client.LoadKeyPair(cfg.Cert, cfg.Key, cfg.CA)
	}
	// Load now: a bad file fails New at once instead of every connection attempt.
	if _, err := c.TLSConfig(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCredentials, what, err)
	}
	notAfter, ok := c.Expiry()
	if !ok {
		return nil, fmt.Errorf("%w: %s: no readable TLS certificate", ErrCredentials, what)
	}
	c.notAfter.Store(notAfter.UnixNano())
	m.certExpiry.Set(float64(notAfter.Unix()))
	return c, nil
}

// expiry is the NotAfter of the certificate the next connection presents.
func (c *credentials) expiry() time.Time {
	return time.Unix(0, c.notAfter.Load()).UTC()
}

// setExpiry records the expiry of a reloaded certificate, updates the gauge and signals
// changed when it differs from the last one.
func (c *credentials) setExpiry(notAfter time.Time) bool {
	c.metrics.certExpiry.Set(float64(notAfter.Unix()))
	if c.notAfter.Swap(notAfter.UnixNano()) == notAfter.UnixNano() {
		return false
	}
	select {
	case c.changed <- struct{}{}:
	default:
	}
	return true
}

// reload re-reads the identity file; reason says what asked for it, for the log. On error the
// current credentials stay in use. It returns ErrReloadDisabled for credentials that are not
// reloaded, and errors wrapping ErrCredentials for a file that cannot be read.
func (c *credentials) reload(ctx context.Context, reason string) error {
	if c.identity == nil {
		return ErrReloadDisabled
	}
	c.reloadMu.Lock()
	defer c.reloadMu.Unlock()
	if err := c.identity.Reload(); err != nil {
		c.metrics.reloads.WithLabelValues("error").Inc()
		return fmt.Errorf("%w: reload identity file %s: %w", ErrCredentials, c.identity.Path, err)
	}
	c.metrics.reloads.WithLabelValues("ok").Inc()
	notAfter, ok := c.identity.Expiry() // Reload has just parsed the certificate: ok is true
	level, msg := slog.LevelDebug, "Teleport identity file unchanged"
	if ok && c.setExpiry(notAfter) {
		level, msg = slog.LevelInfo, "Reloaded the Teleport identity file"
	}
	c.log.Log(ctx, level, msg, "path", c.identity.Path, "reason", reason, "cert_expiry", notAfter)
	return nil
}
