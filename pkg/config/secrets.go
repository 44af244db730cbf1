package config

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// Secret is a credential: a password, an API key, a token. Every way of printing it — fmt's
// verbs, String, GoString, slog, JSON and text marshalling — shows "REDACTED" (or nothing
// for an empty Secret); only [Secret.Reveal] returns the value. The zero value is empty.
type Secret struct {
	value string
}

// Reveal returns the secret value, for the one call that needs it.
func (s Secret) Reveal() string { return s.value }

// String returns "REDACTED", or "" for an empty Secret.
func (s Secret) String() string {
	if s.value == "" {
		return ""
	}
	return redacted
}

// GoString is String, so that %#v shows no secret either.
func (s Secret) GoString() string { return s.String() }

// Format prints String for every verb.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// LogValue logs String.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText encodes String, so JSON and TOML encoders show no secret.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// maxSecretFile bounds what ReadSecretFile reads: a secret is small, and a large file is a
// wrong path.
const maxSecretFile = 64 << 10

// ReadSecretFile reads a secret from the file at path: its content with surrounding white
// space (a trailing newline, say) removed. An empty or over-large file is an error. Errors
// name the path (unless it looks like a secret itself), never the content, and wrap the
// underlying error: errors.Is(err, fs.ErrNotExist) works.
func ReadSecretFile(path string) (Secret, error) {
	shown := showPath(path, true)
	f, err := os.Open(path)
	if err != nil {
		return Secret{}, fmt.Errorf("config: secret file %s: %w", shown, pathErr(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return Secret{}, fmt.Errorf("config: secret file %s: %w", shown, pathErr(err))
	}
	if len(data) > maxSecretFile {
		return Secret{}, fmt.Errorf("config: secret file %s: larger than %d bytes", shown, maxSecretFile)
	}
	value := strings.TrimSpace(string(data))
	if value == "" {
		return Secret{}, fmt.Errorf("config: secret file %s: empty", shown)
	}
	return Secret{value: value}, nil
}

// ErrNoAPIKey means the datadog sink has no API key: neither DD_API_KEY nor
// forward.datadog.api-key-file is set.
var ErrNoAPIKey = errors.New("config: no Datadog API key: set DD_API_KEY or forward.datadog.api-key-file")

// APIKey returns the Datadog API key: DD_API_KEY as [Load] saw it, else the content of
// APIKeyFile, else [ErrNoAPIKey]. It reads the file on every call, so a rotated key is
// picked up.
func (d Datadog) APIKey() (Secret, error) {
	if d.envAPIKey != nil && d.envAPIKey.value != "" {
		return *d.envAPIKey, nil
	}
	if d.APIKeyFile == "" {
		return Secret{}, ErrNoAPIKey
	}
	return ReadSecretFile(d.APIKeyFile)
}

// Password returns the Redis password from PasswordFile, or an empty Secret when none is set.
func (r Redis) Password() (Secret, error) {
	if r.PasswordFile == "" {
		return Secret{}, nil
	}
	return ReadSecretFile(r.PasswordFile)
}

// SentinelPassword returns the Sentinels' password from SentinelPasswordFile, or an empty
// Secret when none is set.
func (r Redis) SentinelPassword() (Secret, error) {
	if r.SentinelPasswordFile == "" {
		return Secret{}, nil
	}
	return ReadSecretFile(r.SentinelPasswordFile)
}
