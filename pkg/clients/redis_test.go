package clients

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/auditpipe/auditpipe/pkg/config"
)

func TestNewRedis(t *testing.T) {
	dir := t.TempDir()
	passwordFile := filepath.Join(dir, "password")
	if err := os.WriteFile(passwordFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		given   config.Redis
		want    func(*redis.Options) bool
		wantErr string
	}{
		{
			name:  "addr",
			given: config.Redis{Addr: "redis:6379"},
			want:  func(o *redis.Options) bool { return o.Addr == "redis:6379" && o.Password == "" && o.TLSConfig == nil },
		},
		{
			name:  "addr with user, password file and TLS",
			given: config.Redis{Addr: "redis:6380", Username: "ingest", PasswordFile: passwordFile, TLS: config.ClientTLS{Enabled: true}},
			want: func(o *redis.Options) bool {
				return o.Username == "ingest" && o.Password == "s3cret" && o.TLSConfig != nil && o.TLSConfig.RootCAs == nil
			},
		},
		{
			name:  "url",
			given: config.Redis{URL: "redis://redis:6379/2", PasswordFile: passwordFile},
			want:  func(o *redis.Options) bool { return o.Addr == "redis:6379" && o.DB == 2 && o.Password == "s3cret" },
		},
		{
			name:  "rediss url keeps its server name",
			given: config.Redis{URL: "rediss://redis.example.com:6380", TLS: config.ClientTLS{Enabled: true}},
			want: func(o *redis.Options) bool {
				return o.TLSConfig != nil && o.TLSConfig.ServerName == "redis.example.com"
			},
		},
		{name: "unix url", given: config.Redis{URL: "unix:///run/redis.sock"}, want: func(o *redis.Options) bool {
			return o.Network == "unix" && o.Addr == "/run/redis.sock"
		}},
		{name: "missing password file", given: config.Redis{Addr: "r:1", PasswordFile: filepath.Join(dir, "none")}, wantErr: "redis.password-file"},
		{name: "CA without a certificate", given: config.Redis{Addr: "r:1", TLS: config.ClientTLS{Enabled: true, CA: notPEM}}, wantErr: "redis.tls.ca: " + notPEM + " holds no PEM certificate"},
		{name: "unreadable client key", given: config.Redis{Addr: "r:1", TLS: config.ClientTLS{Enabled: true, Cert: notPEM, Key: filepath.Join(dir, "none")}}, wantErr: "redis.tls.key: cannot read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rdb, err := Redis(tt.given)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Fatalf("the error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer rdb.Close()
			c, ok := rdb.(*redis.Client)
			if !ok {
				t.Fatalf("%T, want a single-server *redis.Client", rdb)
			}
			if !tt.want(c.Options()) {
				t.Errorf("options %+v", c.Options())
			}
		})
	}
}
