package fluentd_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd/fluentdtest"
)

func TestNewRefusesBadConfig(t *testing.T) {
	peer := fluentdtest.New(t)
	files := peer.Files()
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		given   func(c *config.Fluentd)
		opts    []fluentd.Option
		wantErr string
	}{
		{name: "no url", given: func(c *config.Fluentd) { c.URL = "" }, wantErr: "url is required"},
		{name: "no session url", given: func(c *config.Fluentd) { c.SessionURL = "" }, wantErr: "session-url is required"},
		{name: "relative url", given: func(c *config.Fluentd) { c.URL = "/teleport.audit" }, wantErr: "url has no host"},
		{name: "http to a remote host", given: func(c *config.Fluentd) { c.URL = "http://fluentd.example:8888/a" }, wantErr: "scheme must be https"},
		{name: "ftp", given: func(c *config.Fluentd) { c.URL = "ftp://fluentd.example/a" }, wantErr: "scheme must be https"},
		{name: "credentials in url", given: func(c *config.Fluentd) { c.URL = "https://user:hunter2@fluentd.example/a" }, wantErr: "must not hold credentials"},
		{name: "query in session url", given: func(c *config.Fluentd) { c.SessionURL += "?x=1" }, wantErr: "must not have a query"},
		{name: "batch 0", given: func(c *config.Fluentd) { c.Batch = 0 }, wantErr: "batch must be at least 1"},
		{name: "max connections 0", given: func(c *config.Fluentd) { c.MaxConnections = 0 }, wantErr: "max-connections must be at least 1"},
		{name: "cert without key", given: func(c *config.Fluentd) { c.Key = "" }, wantErr: "set both"},
		{name: "key without cert", given: func(c *config.Fluentd) { c.Cert = "" }, wantErr: "set both"},
		{name: "missing ca", given: func(c *config.Fluentd) { c.CA = filepath.Join(dir, "nope.crt") }, wantErr: "ca: cannot read"},
		{name: "ca not PEM", given: func(c *config.Fluentd) { c.CA = notPEM }, wantErr: "holds no PEM certificate"},
		{name: "missing key", given: func(c *config.Fluentd) { c.Key = filepath.Join(dir, "nope.key") }, wantErr: "key: cannot read"},
		{name: "key is a directory", given: func(c *config.Fluentd) { c.Key = dir }, wantErr: "key: cannot read"},
		{name: "key of another certificate", given: func(c *config.Fluentd) { c.Key = files.UntrustedKey }, wantErr: "private key does not match public key"},
		{name: "cert and key swapped", given: func(c *config.Fluentd) { c.Cert, c.Key = c.Key, c.Cert }, wantErr: "cert " + files.Key},
		{name: "key not PEM", given: func(c *config.Fluentd) { c.Key = notPEM }, wantErr: "cert " + files.Cert},
		{name: "zero timeout", opts: []fluentd.Option{fluentd.WithTimeout(0)}, wantErr: "timeout must be positive"},
		{name: "zero request bytes", opts: []fluentd.Option{fluentd.WithMaxRequestBytes(0)}, wantErr: "max request bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := peer.Config()
			if tt.given != nil {
				tt.given(&cfg)
			}
			s, err := fluentd.New(cfg, tt.opts...)
			if err == nil {
				s.Close()
				t.Fatal("New accepted the configuration")
			}
			if !errors.Is(err, fluentd.ErrConfig) {
				t.Errorf("error %v does not wrap ErrConfig", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not say %q", err, tt.wantErr)
			}
			noSecret(t, err.Error(), append(peer.Secrets(), "hunter2"))
		})
	}
}

func TestNewAcceptsGoodConfig(t *testing.T) {
	peer := fluentdtest.New(t)
	tests := []struct {
		name  string
		given func(c *config.Fluentd)
	}{
		{name: "mutual TLS", given: func(*config.Fluentd) {}},
		{name: "server TLS only", given: func(c *config.Fluentd) { c.Cert, c.Key = "", "" }},
		{name: "system roots", given: func(c *config.Fluentd) { c.CA = "" }},
		{name: "http to loopback", given: func(c *config.Fluentd) { c.URL = "http://127.0.0.1:8888/a"; c.SessionURL = "http://localhost:8888/s" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := peer.Config()
			tt.given(&cfg)
			s, err := fluentd.New(cfg, fluentd.WithTimeout(time.Second))
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
		})
	}
}
