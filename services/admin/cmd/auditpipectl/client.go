package main

import (
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/config"
)

// defaultServer is the admin API's address when neither --server nor AUDITPIPE_ADMIN_URL
// says otherwise: auditpipe-admin's default admin.listen.
const defaultServer = "http://127.0.0.1:8080"

// globals are the flags of every verb that calls the admin API.
type globals struct {
	Server    string        `help:"The admin API's URL (default: $AUDITPIPE_ADMIN_URL, else http://127.0.0.1:8080)." placeholder:"URL"`
	TokenFile string        `name:"token-file" help:"A file holding the bearer token alone, or the server's tokens file (its first admin token is used) (default: the token in $AUDITPIPE_ADMIN_TOKEN)." placeholder:"FILE" type:"path"`
	CA        string        `name:"ca" help:"CA certificate (PEM) that signs the API's certificate, for https (default: the system's roots)." placeholder:"FILE" type:"path"`
	Cert      string        `name:"cert" help:"Client certificate (PEM), for an API that authenticates client certificates (admin.tls.client-ca); with --key." placeholder:"FILE" type:"path"`
	Key       string        `name:"key" help:"The client certificate's private key (PEM)." placeholder:"FILE" type:"path"`
	Timeout   time.Duration `help:"How long one API request may take." default:"30s"`
}

// client returns a client of the admin API the global flags and the environment name.
func (a *app) client() (*adminapi.Client, error) {
	g := a.globals
	server := cmp.Or(g.Server, a.env[config.EnvAdminURL], defaultServer)
	token, err := a.token()
	if err != nil {
		return nil, err
	}
	if g.Timeout <= 0 {
		return nil, fmt.Errorf("--timeout must be positive, got %s", g.Timeout)
	}
	opts := []adminapi.ClientOption{
		adminapi.WithHTTPClient(&http.Client{Timeout: g.Timeout}),
		adminapi.WithUserAgent("auditpipectl/" + version),
	}
	tlsCfg, err := g.tlsConfig()
	if err != nil {
		return nil, err
	}
	if tlsCfg != nil {
		opts = append(opts, adminapi.WithTLSConfig(tlsCfg))
	}
	return adminapi.NewClient(server, token, opts...)
}

// token returns the bearer token: from --token-file, else AUDITPIPE_ADMIN_TOKEN, else none.
// The file holds the token alone, or is the server's admin.tokens-file ("<scope> <token>"
// lines), of which the first admin token is used, else the first read token — so that
// auditpipectl inside the admin's container can use the file the server reads. Errors never
// show the token.
func (a *app) token() (string, error) {
	if a.globals.TokenFile == "" {
		tok := strings.TrimSpace(a.env[config.EnvAdminToken])
		if strings.ContainsAny(tok, " \t\r\n") {
			return "", fmt.Errorf("%s: want the token alone, without spaces", config.EnvAdminToken)
		}
		return tok, nil
	}
	path := a.globals.TokenFile
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	tok := strings.TrimSpace(string(data))
	switch {
	case tok == "":
		return "", fmt.Errorf("--token-file %s is empty", path)
	case !strings.ContainsAny(tok, " \t\r\n"):
		return tok, nil
	}
	tokens, err := adminapi.ParseTokens(data)
	if err != nil {
		return "", fmt.Errorf("--token-file %s: want the token alone on one line, or \"<scope> <token>\" lines "+
			"as in the server's admin.tokens-file: %w", path, err)
	}
	for _, scope := range []adminapi.Scope{adminapi.ScopeAdmin, adminapi.ScopeRead} {
		for _, t := range tokens {
			if t.Scope == scope {
				return t.Token, nil
			}
		}
	}
	return "", fmt.Errorf("--token-file %s holds no token", path)
}

// tlsConfig is the TLS setup of --ca, --cert and --key: nil when none is given.
func (g *globals) tlsConfig() (*tls.Config, error) {
	if g.CA == "" && g.Cert == "" && g.Key == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if g.CA != "" {
		pem, err := os.ReadFile(g.CA)
		if err != nil {
			return nil, fmt.Errorf("--ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca %s: no PEM certificate in it", g.CA)
		}
		cfg.RootCAs = pool
	}
	switch {
	case g.Cert != "" && g.Key != "":
		pair, err := tls.LoadX509KeyPair(g.Cert, g.Key)
		if err != nil {
			return nil, fmt.Errorf("--cert/--key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	case g.Cert != "" || g.Key != "":
		return nil, errors.New("--cert and --key go together")
	}
	return cfg, nil
}
