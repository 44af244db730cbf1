package tlsfiles

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/auditpipe/auditpipe/pkg/filewatch"
)

// DefaultInterval is the re-read interval the services use: the fallback for changes a
// directory watch cannot see, at the cost of reading a few kilobytes a minute.
const DefaultInterval = time.Minute

// File is one file and the configuration setting that names it ("admin.tls.cert"). Errors and
// logs name both, never the file's contents.
type File struct {
	Setting string
	// Path is the file; "" when the setting is not set.
	Path string
}

// Config says which files make the Credentials and how they are kept current.
type Config struct {
	// Cert and Key are a PEM certificate (chain, leaf first) and its PEM private key: set both
	// or neither.
	Cert, Key File
	// CA is a PEM bundle of CA certificates: the roots a client verifies servers with, or the
	// CAs a server verifies client certificates with. Optional; Open needs CA or Cert and Key.
	CA File
	// Interval, when positive, also re-reads the files this often (DefaultInterval is the
	// services' choice). With an Interval, a directory that cannot be watched leaves the
	// interval alone; without one it fails Open.
	Interval time.Duration
	// Logger receives the outcome of reloads; nil discards it.
	Logger *slog.Logger
	// OnReload, when set, runs after a reload has put new material in force (for example to
	// close idle connections, so that the next requests handshake with it). It runs on the
	// watch's goroutine and must not block for long.
	OnReload func()
}

// Credentials are the key pair and CA bundle of a Config, kept current until Close. Safe for
// concurrent use; the caller owns them and must Close them.
type Credentials struct {
	cfg     Config
	log     *slog.Logger
	current atomic.Pointer[material]
	// pairTried and caTried fingerprint the content (or the read error) of the files last
	// tried, so that a reload with nothing new neither parses nor logs again. Only Open and
	// then the watch's goroutine touch them.
	pairTried, caTried [sha256.Size]byte
	watcher            *filewatch.Watcher
}

// material is what one reload puts in force; it is never modified once stored.
type material struct {
	pair *tls.Certificate // nil without Cert and Key
	pool *x509.CertPool   // nil without CA
}

// Open reads the files of cfg and keeps them current until Close (see the package
// documentation). It fails when the files cannot be used: errors name the setting and the path
// and say why. It also fails when cfg names no file, when only one of Cert and Key is set, and
// when the directories cannot be watched and cfg has no Interval.
func Open(cfg Config) (*Credentials, error) {
	hasPair := cfg.Cert.Path != "" || cfg.Key.Path != ""
	switch {
	case hasPair && (cfg.Cert.Path == "" || cfg.Key.Path == ""):
		return nil, fmt.Errorf("%s and %s: set both or neither", cfg.Cert.Setting, cfg.Key.Setting)
	case !hasPair && cfg.CA.Path == "":
		return nil, errors.New("tlsfiles: no file: set a certificate and key, or a CA")
	}
	c := &Credentials{cfg: cfg, log: cfg.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	var m material
	var files []string
	if hasPair {
		pair, tried, err := loadPair(cfg.Cert, cfg.Key)
		if err != nil {
			return nil, err
		}
		m.pair, c.pairTried = pair, tried
		files = append(files, cfg.Cert.Path, cfg.Key.Path)
	}
	if cfg.CA.Path != "" {
		pool, _, tried, err := loadPool(cfg.CA)
		if err != nil {
			return nil, err
		}
		m.pool, c.caTried = pool, tried
		files = append(files, cfg.CA.Path)
	}
	c.current.Store(&m)

	watch := filewatch.Config{
		Files:    files,
		Interval: cfg.Interval,
		Reload:   c.reload,
		OnError: func(err error) {
			c.log.Error("TLS files watch", "files", files, "err", err)
		},
	}
	w, err := filewatch.New(watch)
	if err != nil && cfg.Interval > 0 {
		c.log.Warn("cannot watch the directories of the TLS files; re-reading them on an interval only",
			"files", files, "interval", cfg.Interval.String(), "err", err)
		watch.Files = nil
		w, err = filewatch.New(watch)
	}
	if err != nil {
		return nil, fmt.Errorf("tlsfiles: keep %v current: %w", files, err)
	}
	c.watcher = w
	return c, nil
}

// reload re-reads the key pair and the CA bundle, each on its own: what reads and parses goes
// in force, what fails keeps the previous material.
func (c *Credentials) reload(ctx context.Context, reason filewatch.Reason) {
	next := *c.current.Load()
	changed := false
	if next.pair != nil {
		pair, tried, err := loadPair(c.cfg.Cert, c.cfg.Key)
		switch {
		case tried == c.pairTried: // nothing new since the last try
		case err != nil:
			c.log.ErrorContext(ctx, "TLS certificate reload failed; the previous certificate stays in use",
				"cert", c.cfg.Cert.Path, "key", c.cfg.Key.Path, "reason", string(reason), "err", err)
		default:
			next.pair, changed = pair, true
			c.log.InfoContext(ctx, "TLS certificate reloaded", "cert", c.cfg.Cert.Path, "key", c.cfg.Key.Path,
				"reason", string(reason), "subject", pair.Leaf.Subject.String(),
				"serial", pair.Leaf.SerialNumber.Text(16), "not_after", pair.Leaf.NotAfter)
		}
		c.pairTried = tried
	}
	if next.pool != nil {
		pool, n, tried, err := loadPool(c.cfg.CA)
		switch {
		case tried == c.caTried:
		case err != nil:
			c.log.ErrorContext(ctx, "TLS CA reload failed; the previous CA certificates stay in use",
				"ca", c.cfg.CA.Path, "reason", string(reason), "err", err)
		default:
			next.pool, changed = pool, true
			c.log.InfoContext(ctx, "TLS CA reloaded", "ca", c.cfg.CA.Path, "reason", string(reason), "certificates", n)
		}
		c.caTried = tried
	}
	if !changed {
		return
	}
	c.current.Store(&next)
	if c.cfg.OnReload != nil {
		c.cfg.OnReload()
	}
}

// ServerConfig returns a config for a TLS server: template (nil: an empty one) with, at every
// handshake, the newest certificate and, when the Credentials have a CA, the newest CA bundle
// as ClientCAs. template's ClientAuth decides whether client certificates are asked for.
//
// The returned config does it with GetConfigForClient, which template must not set; template
// is copied, and later changes to it have no effect. The config a handshake gets is built once
// per reload and shared by the handshakes until the next one. Session tickets outlive reloads,
// but crypto/tls checks a resumed session's client certificate against the ClientCAs of the
// handshake's config: after a CA rotation, sessions of the removed CA's clients are not
// resumed. The Credentials need a certificate and key for this.
func (c *Credentials) ServerConfig(template *tls.Config) *tls.Config {
	tmpl := template.Clone()
	if tmpl == nil {
		tmpl = &tls.Config{}
	}
	type derived struct {
		from   *material
		config *tls.Config
	}
	var last atomic.Pointer[derived]
	base := tmpl.Clone()
	base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		m := c.current.Load()
		if d := last.Load(); d != nil && d.from == m {
			return d.config, nil
		}
		cfg := tmpl.Clone()
		if m.pair != nil {
			cfg.Certificates = []tls.Certificate{*m.pair}
		}
		if m.pool != nil {
			cfg.ClientCAs = m.pool
		}
		last.Store(&derived{from: m, config: cfg}) // two handshakes may both build one: either will do
		return cfg, nil
	}
	return base
}

// ClientConfig returns a config for one TLS client connection: a copy of template (nil: an
// empty one) with the newest certificate and key as the client certificate, and the newest CA
// bundle as RootCAs, for those the Credentials have. Call it for each connection: a config
// keeps the material of the moment it was made. The caller sets ServerName.
func (c *Credentials) ClientConfig(template *tls.Config) *tls.Config {
	cfg := template.Clone()
	if cfg == nil {
		cfg = &tls.Config{}
	}
	m := c.current.Load()
	if m.pair != nil {
		cfg.Certificates = []tls.Certificate{*m.pair}
	}
	if m.pool != nil {
		cfg.RootCAs = m.pool
	}
	return cfg
}

// Close stops keeping the files current; the configs made keep working with the material in
// force. Close may be called more than once.
func (c *Credentials) Close() error {
	return c.watcher.Close()
}
