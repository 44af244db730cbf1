package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

const planted = "Sup3rS3cretValue"

func TestSecretNeverPrints(t *testing.T) {
	s := Secret{value: planted}
	if s.Reveal() != planted {
		t.Fatalf("Reveal() = %q", s.Reveal())
	}
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s"} {
		out = append(out, fmt.Sprintf(verb, s), fmt.Sprintf(verb, struct{ Key Secret }{s}), fmt.Sprintf(verb, &s))
	}
	out = append(out, fmt.Sprint(s), fmt.Sprintln(s), s.String(), s.GoString())
	j, err := json.Marshal(struct{ Key Secret }{s})
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, string(j))
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "key", s, "ptr", &s)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "key", s)
	out = append(out, logs.String())
	for _, o := range out {
		if strings.Contains(o, planted) || strings.Contains(o, fmt.Sprintf("%x", planted)) {
			t.Errorf("secret printed: %s", o)
		}
	}
	if got := fmt.Sprint(s); got != redacted {
		t.Errorf("Sprint(secret) = %q, want %q", got, redacted)
	}
	if got := fmt.Sprint(Secret{}); got != "" {
		t.Errorf("Sprint(empty secret) = %q, want empty", got)
	}
}

func TestReadSecretFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		content string
		want    string
		wantErr string
	}{
		{"trailing newline trimmed", planted + "\n", planted, ""},
		{"surrounding space trimmed", "  " + planted + "\r\n\n", planted, ""},
		{"empty", "", "", "empty"},
		{"only space", " \n\t", "", "empty"},
		{"too large", strings.Repeat(planted, maxSecretFile/len(planted)+1), "", "larger than 65536 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, dir, strings.ReplaceAll(tt.name, " ", "-")+".txt", tt.content)
			got, err := ReadSecretFile(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), planted) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got.Reveal() != tt.want {
				t.Errorf("ReadSecretFile = %q, %v, want %q", got.Reveal(), err, tt.want)
			}
		})
	}

	missing := filepath.Join(dir, "missing.txt")
	if _, err := ReadSecretFile(missing); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: err = %v, want fs.ErrNotExist naming the path", err)
	}
	// The secret given where its file's name belongs is not echoed.
	if _, err := ReadSecretFile(planted); err == nil || strings.Contains(err.Error(), planted) {
		t.Errorf("secret as path: err = %v", err)
	}
}

func TestDatadogAPIKey(t *testing.T) {
	dir := t.TempDir()
	keyFile := writeFile(t, dir, "dd.key", "from-file\n")
	tests := []struct {
		name    string
		env     []string
		file    string
		want    string
		wantErr error
	}{
		{"DD_API_KEY", []string{"DD_API_KEY=from-env"}, "", "from-env", nil},
		{"DD_API_KEY wins over the file", []string{"DD_API_KEY=from-env"}, keyFile, "from-env", nil},
		{"the file", nil, keyFile, "from-file", nil},
		{"empty DD_API_KEY is unset", []string{"DD_API_KEY="}, keyFile, "from-file", nil},
		{"neither", nil, "", "", ErrNoAPIKey},
		{"missing file", nil, filepath.Join(dir, "missing"), "", fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := Load(Sources{Env: tt.env, Flags: map[string]string{"forward.datadog.api-key-file": tt.file}})
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Forward.Datadog.APIKey()
			if !errors.Is(err, tt.wantErr) || got.Reveal() != tt.want {
				t.Errorf("APIKey() = %q, %v, want %q, %v", got.Reveal(), err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestRedisPassword(t *testing.T) {
	got, err := Redis{}.Password()
	if err != nil || got.Reveal() != "" {
		t.Errorf("no password file: %q, %v", got.Reveal(), err)
	}
	path := writeFile(t, t.TempDir(), "pw", planted+"\n")
	got, err = Redis{PasswordFile: path}.Password()
	if err != nil || got.Reveal() != planted {
		t.Errorf("Password() = %q, %v", got.Reveal(), err)
	}
}

// TestSecretsNeverPrinted plants a secret everywhere a user might put one, and checks that no
// error, warning, rendering or log of the configuration shows it.
func TestSecretsNeverPrinted(t *testing.T) {
	pem := "-----BEGIN PRIVATE KEY-----\\n" + planted + "\\n-----END PRIVATE KEY-----"
	tests := []struct {
		name  string
		toml  string
		env   []string
		flags map[string]string
	}{
		{name: "password in a Redis URL", toml: "[redis]\nurl = \"redis://app:" + planted + "@redis:6379\""},
		{name: "inline password", toml: "[redis]\npassword = \"" + planted + "\""},
		{name: "bare password, a syntax error", toml: "[redis]\npassword = " + planted},
		{name: "unterminated string", toml: "types = [\"" + planted},
		{name: "bare word as a value", toml: "batch = " + planted},
		{name: "token in a NATS URL", toml: "[nats]\nurl = \"nats://" + planted + "@nats:4222\""},
		{name: "credentials in a Fluentd URL", toml: "[forward.fluentd]\nurl = \"https://u:" + planted + "@f/a.log\""},
		{name: "URL with credentials in a key of another type", toml: "batch = \"redis://u:" + planted + "@x\""},
		{name: "Redis URL from the environment", env: []string{"AUDITPIPE_REDIS_URL=redis://:" + planted + "@r:6379"}},
		{name: "inline password variable", env: []string{"AUDITPIPE_REDIS_PASSWORD=" + planted}},
		{name: "Redis URL from a flag", flags: map[string]string{"redis.url": "rediss://u:" + planted + "@r:6379"}},
		{name: "DD_API_KEY", env: []string{"DD_API_KEY=" + planted, "AUDITPIPE_SHIPPER_SINKS=datadog"}},
		{name: "the API key where its file belongs", toml: "[forward.datadog]\napi-key-file = \"" + planted + "\"\n[shipper]\nsinks = [\"datadog\"]"},
		{name: "the Redis password where its file belongs", env: []string{"AUDITPIPE_REDIS_PASSWORD_FILE=" + planted}},
		{name: "a private key where its file belongs", toml: "[teleport]\nkey = \"" + pem + "\"\nca = \"/ca\"\ncert = \"/c\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, warnings, err := loadTOML(t, tt.toml, tt.env, tt.flags)
			out := []string{fmt.Sprint(err), fmt.Sprint(warnings)}
			if c != nil {
				out = append(out, printed(c)...)
				for _, s := range []Service{ServiceIngest, ServiceShipper, ServiceAdmin} {
					out = append(out, fmt.Sprint(c.ValidateFor(s)))
				}
			}
			for _, o := range out {
				if strings.Contains(o, planted) {
					t.Errorf("secret printed:\n%s", o)
				}
			}
		})
	}

	// A Config built in code with credentials in a URL is redacted too, printed whole.
	c := Default()
	c.Redis.Addr = ""
	c.Redis.URL = "redis://u:" + planted + "@redis:6379"
	c.NATS.URL = "nats://" + planted + "@n1:4222,nats://n2:4222"
	c.Forward.Datadog.Tags = []string{"url:https://u:" + planted + "@x"}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "config", c)
	j, _ := json.Marshal(c)
	for _, o := range []string{c.String(), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", *c), logs.String(), string(j), fmt.Sprint(c.Validate())} {
		if strings.Contains(o, planted) {
			t.Errorf("secret printed:\n%s", o)
		}
	}
}

// printed is every way a service might print a Config.
func printed(c *Config) []string {
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "config", c)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("config", "config", *c)
	j, _ := json.Marshal(c)
	return []string{
		c.String(), fmt.Sprint(c), fmt.Sprintf("%v", *c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c),
		fmt.Sprintf("%+v", c.Forward), fmt.Sprintf("%#v", c.Forward.Datadog), logs.String(), string(j),
	}
}
