package teleportsrc

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc/connectivity"
)

const (
	// ExpiryWarning is how long before the client certificate expires the Client starts
	// warning about it.
	ExpiryWarning = 24 * time.Hour
	// expiryWarningRepeat is how often the warning is repeated until the certificate is
	// renewed or expires.
	expiryWarningRepeat = time.Hour
)

// CertExpiry is the NotAfter of the client certificate that the next connection to Teleport
// presents: the current one of a reloaded identity file. It is also the gauge
// auditpipe_teleport_cert_expiry_timestamp_seconds.
func (c *Client) CertExpiry() time.Time { return c.creds.expiry() }

// Expired reports whether the client certificate has expired. Teleport refuses an expired
// certificate on every new connection, so nothing can be read once the connection drops.
func (c *Client) Expired() bool { return !time.Now().Before(c.CertExpiry()) }

// Ready is a readiness check for /readyz (a health.Check): nil while the certificate is valid
// and the connection is up, an error wrapping ErrCertExpired or ErrNotConnected otherwise. It
// makes no call to Teleport.
func (c *Client) Ready(context.Context) error {
	if exp := c.CertExpiry(); c.Expired() {
		return fmt.Errorf("%w at %s", ErrCertExpired, exp.Format(time.RFC3339))
	}
	if state := c.clt.GetConnection().GetState(); state != connectivity.Ready {
		return fmt.Errorf("%w: connection %s", ErrNotConnected, state)
	}
	return nil
}

// checkExpiry logs a warning when the certificate expires within ExpiryWarning and an error
// when it has expired, and returns when to check again (0: only once the certificate changes).
func (c *Client) checkExpiry(ctx context.Context) time.Duration {
	exp := c.CertExpiry()
	left := time.Until(exp)
	switch {
	case left <= 0:
		c.log.ErrorContext(ctx, "The Teleport client certificate has expired: Teleport refuses it until the identity is renewed",
			"cert_expiry", exp)
		return 0
	case left <= ExpiryWarning:
		c.log.WarnContext(ctx, "The Teleport client certificate expires soon: renew the identity",
			"cert_expiry", exp, "expires_in", left.Round(time.Second).String())
		return min(left, expiryWarningRepeat)
	}
	return left - ExpiryWarning
}

// watchExpiry runs checkExpiry when wait has passed (wait = 0: never) or the certificate
// changes, and then again as it says, until ctx ends.
func (c *Client) watchExpiry(ctx context.Context, wait time.Duration) {
	for {
		var timer *time.Timer
		var fire <-chan time.Time
		if wait > 0 {
			timer = time.NewTimer(wait)
			fire = timer.C
		}
		select {
		case <-ctx.Done():
			return
		case <-fire:
		case <-c.creds.changed:
			if timer != nil {
				timer.Stop()
			}
		}
		wait = c.checkExpiry(ctx)
	}
}
