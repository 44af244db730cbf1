package fluentd

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"
)

const (
	// probeWait is how long a probe waits for Fluentd's verdict on the client certificate.
	probeWait = 300 * time.Millisecond
	// probeMemory is how long a probe's verdict stands for its host, so that a Fluentd that
	// keeps resetting connections is not probed for every request.
	probeMemory = 30 * time.Second
)

// prober finds out whether Fluentd refuses the client's TLS handshake when a request on a new
// connection failed with a reset or a closed connection.
//
// Under TLS 1.3 a server checks the client certificate after the client has finished its side
// of the handshake, so the client learns of a refusal only as an alert on its first read, and
// a server that closes the connection at once makes the client see a reset of the request it
// was writing instead: the alert is lost. A probe dials again, completes the handshake and
// waits briefly for that alert. It is safe for concurrent use.
type prober struct {
	dialer *net.Dialer
	// config is the TLS config of a new connection to a server name: the newest files.
	config func(serverName string) *tls.Config

	mu       sync.Mutex
	verdicts map[string]verdict // host:port → the last probe's finding
}

type verdict struct {
	refusal error // the handshake's failure, nil when Fluentd accepted the client
	at      time.Time
}

func newProber(dialer *net.Dialer, config func(serverName string) *tls.Config) *prober {
	return &prober{dialer: dialer, config: config, verdicts: map[string]verdict{}}
}

// forget drops every verdict: they were reached with TLS files that are no longer in use.
func (p *prober) forget() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.verdicts)
}

// refusal returns why Fluentd at target's host refuses the TLS handshake, or nil when it does
// not, or when that cannot be told.
func (p *prober) refusal(ctx context.Context, target string) error {
	u, err := url.Parse(target)
	if err != nil || !strings.EqualFold(u.Scheme, "https") {
		return nil
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "443")
	}
	p.mu.Lock()
	v, ok := p.verdicts[addr]
	p.mu.Unlock()
	if ok && time.Since(v.at) < probeMemory {
		return v.refusal
	}

	refusal, known := p.probe(ctx, addr, u.Hostname())
	if known {
		p.mu.Lock()
		p.verdicts[addr] = verdict{refusal: refusal, at: time.Now()}
		p.mu.Unlock()
	}
	return refusal
}

// probe dials addr and reports the TLS refusal it met, if any, and whether it could tell.
func (p *prober) probe(ctx context.Context, addr, host string) (refusal error, known bool) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	d := tls.Dialer{NetDialer: p.dialer, Config: p.config(host)}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if tlsRefusal(err) {
			return err, true
		}
		return nil, false
	}
	defer conn.Close()
	if err := conn.SetReadDeadline(time.Now().Add(probeWait)); err != nil {
		return nil, false
	}
	// Fluentd sends nothing before a request: a read ends with its alert, or times out.
	_, err = conn.Read(make([]byte, 1))
	var ne net.Error
	switch {
	case tlsRefusal(err):
		return err, true
	case errors.As(err, &ne) && ne.Timeout():
		return nil, true
	}
	return nil, false
}

// tlsRefusal reports whether err is a TLS alert from the server that refuses the handshake
// (an "internal error" alert is not: it may pass).
func tlsRefusal(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "remote error" && !strings.Contains(op.Err.Error(), "internal error")
}
