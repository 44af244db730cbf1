package admin

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
)

// TestParseTokens proves the tokens file format: "<scope> <token>" lines, comments and blank
// lines skipped, and errors that name the file and line but never the token.
func TestParseTokens(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		given   string
		want    map[string]adminapi.Scope // token → scope
		wantErr string
	}{
		{name: "empty", given: "", want: map[string]adminapi.Scope{}},
		{name: "comments and blanks", given: "# tokens\n\n  \n\t# indented comment\nread r1\r\nadmin\ta1  \n",
			want: map[string]adminapi.Scope{"r1": adminapi.ScopeRead, "a1": adminapi.ScopeAdmin}},
		{name: "no newline at the end", given: "admin a1", want: map[string]adminapi.Scope{"a1": adminapi.ScopeAdmin}},
		{name: "one field", given: "read r1\nsecret-alone\n", wantErr: "f line 2: want \"<scope> <token>\" (1 fields)"},
		{name: "three fields", given: "admin a b\n", wantErr: "f line 1: want \"<scope> <token>\" (3 fields)"},
		{name: "unknown scope", given: "\n\nwrite secret-w\n", wantErr: "f line 3: the scope (first field) must be read or admin"},
		{name: "reversed", given: "secret-x admin\n", wantErr: "line 1: the scope"},
		{name: "scope is case-sensitive", given: "Admin secret-y\n", wantErr: "line 1: the scope"},
		{name: "duplicate", given: "read same\nadmin same\n", wantErr: "f line 2: the token of line 1 again"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := parseTokens("f", []byte(tt.given))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v; want %q", err, tt.wantErr)
				}
				for _, secret := range []string{"secret", "same", " a b"} {
					if strings.Contains(err.Error(), secret) {
						t.Fatalf("error %q shows a token", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(set) != len(tt.want) {
				t.Fatalf("%d tokens; want %d", len(set), len(tt.want))
			}
			for token, scope := range tt.want {
				c, ok := set.lookup(token)
				if !ok || c.scope != scope {
					t.Errorf("lookup(%s) = %+v, %v; want scope %s", token, c, ok, scope)
				}
			}
		})
	}
}

// TestTokenLookup proves lookup finds exactly the tokens of the set, and names each by the
// first 8 hex digits of its SHA-256.
func TestTokenLookup(t *testing.T) {
	t.Parallel()
	set, err := parseTokens("f", []byte("read r1\nadmin a1\n"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("a1"))
	c, ok := set.lookup("a1")
	if !ok || c.scope != adminapi.ScopeAdmin || c.who != "token:"+hex.EncodeToString(sum[:])[:8] {
		t.Fatalf("lookup(a1) = %+v, %v", c, ok)
	}
	for _, bad := range []string{"", "a", "a1 ", "A1", "r1r1", "admin a1"} {
		if _, ok := set.lookup(bad); ok {
			t.Errorf("lookup(%q) found a token", bad)
		}
	}
	if _, ok := tokenSet(nil).lookup("a1"); ok {
		t.Error("an empty set found a token")
	}
}

// TestTokenFileReload proves the file is read again when it changes — written in place,
// replaced by an atomic rename, or swapped as Kubernetes swaps a secret's symlinks — and
// that a bad file keeps the old tokens in force and logs an error.
func TestTokenFileReload(t *testing.T) {
	t.Parallel()
	logs := &logBuffer{}
	dir := t.TempDir()
	path := writeTokens(t, dir, "admin first\n")
	f, err := openTokenFile(path, jsonLogger(logs))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	has := func(token string) func() bool {
		return func() bool { _, ok := f.current().lookup(token); return ok }
	}

	// In place.
	if err := os.WriteFile(path, []byte("admin second\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "an in-place write to load", has("second"))
	if has("first")() {
		t.Fatal("the replaced token is still accepted")
	}

	// Atomic rename.
	tmp := filepath.Join(dir, ".tokens.tmp")
	if err := os.WriteFile(tmp, []byte("read third\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a renamed file to load", has("third"))

	// A bad file: the old tokens stay, the error is logged (without the token).
	if err := os.WriteFile(path, []byte("read third\nsuperuser leaked-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reload error", func() bool {
		return len(logs.records(t, "admin tokens file reload failed; the previous tokens stay in force")) > 0
	})
	if !has("third")() {
		t.Fatal("a bad reload dropped the tokens in force")
	}
	if strings.Contains(logs.String(), "leaked-secret") {
		t.Fatal("the log shows a token")
	}
	// A removed file is a bad reload too.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "unrelated"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second reload error", func() bool {
		return len(logs.records(t, "admin tokens file reload failed; the previous tokens stay in force")) > 1
	})
	if !has("third")() {
		t.Fatal("a removed file dropped the tokens in force")
	}
	if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestTokenFileSecretSwap proves a Kubernetes-style secret update is seen: the file is a
// symlink through ..data, and the update points ..data at a new directory.
func TestTokenFileSecretSwap(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mkVersion := func(name, content string) {
		if err := os.Mkdir(filepath.Join(dir, name), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "tokens"), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mkVersion("..v1", "admin old\n")
	if err := os.Symlink("..v1", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..data", "tokens"), filepath.Join(dir, "tokens")); err != nil {
		t.Fatal(err)
	}
	f, err := openTokenFile(filepath.Join(dir, "tokens"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	if _, ok := f.current().lookup("old"); !ok {
		t.Fatal("the first version is not loaded")
	}
	mkVersion("..v2", "admin new\n")
	if err := os.Symlink("..v2", filepath.Join(dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the swapped secret to load", func() bool { _, ok := f.current().lookup("new"); return ok })
	if _, ok := f.current().lookup("old"); ok {
		t.Fatal("the old version's token is still accepted")
	}
}

// TestTokenFileReloadThroughAPI proves a token added to the file of a running server is
// accepted by the API, and one removed is refused.
func TestTokenFileReloadThroughAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if res := e.get("/v1/replays", "brand-new-token"); res.status != http.StatusUnauthorized {
		t.Fatalf("an unknown token got %d", res.status)
	}
	writeTokens(t, filepath.Dir(e.cfg.Admin.TokensFile), "read brand-new-token\n")
	waitFor(t, "the new token", func() bool { return e.get("/v1/replays", "brand-new-token").status == http.StatusOK })
	e.get("/v1/replays", readToken).wantError(t, http.StatusUnauthorized, adminapi.CodeUnauthorized)
}
