package admin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/testenv"
)

// TestNew proves New's checks of the admin configuration: authentication is required unless
// explicitly waived, the tokens file must parse (errors name the file and line), and the TLS
// files must go together and load.
func TestNew(t *testing.T) {
	t.Parallel()
	r := testenv.Redis(t)
	n := testenv.NATS(t)
	js, err := jetstream.New(n.Conn(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := r.Client(t)
	dir := t.TempDir()
	p := newPKI(t)
	good := writeTokens(t, t.TempDir(), "admin "+adminToken+"\n")
	bad := writeTokens(t, dir, "# ok\nadmin "+adminToken+"\nwrite "+readToken+"\n")
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("nothing"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		given   func(*config.Admin)
		wantErr []string // substrings of the error; nil: no error
	}{
		{name: "no auth", given: func(a *config.Admin) {},
			wantErr: []string{"admin.tokens-file", "admin.tls.client-ca", "--insecure-dev-no-auth"}},
		{name: "insecure", given: func(a *config.Admin) { a.InsecureNoAuth = true }},
		{name: "tokens", given: func(a *config.Admin) { a.TokensFile = good }},
		{name: "missing tokens file", given: func(a *config.Admin) { a.TokensFile = filepath.Join(dir, "nope") },
			wantErr: []string{"nope"}},
		{name: "bad tokens line", given: func(a *config.Admin) { a.TokensFile = bad },
			wantErr: []string{bad, "line 3", "read or admin"}},
		{name: "client CA", given: func(a *config.Admin) {
			a.TLS = config.ServerTLS{Cert: p.srvCert, Key: p.srvKey, ClientCA: p.caFile}
		}},
		{name: "client CA without a key pair", given: func(a *config.Admin) { a.TLS.ClientCA = p.caFile },
			wantErr: []string{"admin.tls.cert", "admin.tls.key"}},
		{name: "cert without key", given: func(a *config.Admin) { a.TokensFile = good; a.TLS.Cert = p.srvCert },
			wantErr: []string{"admin.tls.cert and admin.tls.key go together"}},
		{name: "bad client CA", given: func(a *config.Admin) {
			a.TLS = config.ServerTLS{Cert: p.srvCert, Key: p.srvKey, ClientCA: notPEM}
		}, wantErr: []string{notPEM, "no PEM certificate"}},
		{name: "bad key pair", given: func(a *config.Admin) {
			a.TokensFile = good
			a.TLS = config.ServerTLS{Cert: p.srvCert, Key: notPEM}
		}, wantErr: []string{"admin.tls.cert " + p.srvCert, "admin.tls.key " + notPEM}},
		{name: "missing certificate", given: func(a *config.Admin) {
			a.TokensFile = good
			a.TLS = config.ServerTLS{Cert: filepath.Join(dir, "gone.pem"), Key: p.srvKey}
		}, wantErr: []string{"admin.tls.cert: cannot read " + filepath.Join(dir, "gone.pem")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Redis.KeyPrefix = r.Prefix
			tt.given(&cfg.Admin)
			s, err := New(cfg, Deps{Redis: rdb, JetStream: js})
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if err := s.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				return
			}
			if err == nil {
				_ = s.Close()
				t.Fatal("New succeeded; want an error")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
	t.Run("missing deps", func(t *testing.T) {
		cfg := config.Default()
		cfg.Admin.InsecureNoAuth = true
		if _, err := New(cfg, Deps{Redis: rdb}); err == nil {
			t.Error("New without JetStream succeeded")
		}
		if _, err := New(nil, Deps{Redis: rdb, JetStream: js}); err == nil {
			t.Error("New without a config succeeded")
		}
		var nilRedis redis.UniversalClient
		if _, err := New(cfg, Deps{Redis: nilRedis, JetStream: js}); err == nil {
			t.Error("New without Redis succeeded")
		}
	})
}
