package admin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/filewatch"
)

// credential is one bearer token of the tokens file. Only the token's SHA-256 is kept.
type credential struct {
	digest [sha256.Size]byte
	scope  adminapi.Scope
	// who names the token in logs: "token:" + the first 8 hex digits of its SHA-256.
	who string
}

// tokenSet is the parsed tokens file.
type tokenSet []credential

// parseTokens parses a tokens file (adminapi.ParseTokens) into credentials. Errors name the
// file and the line, never the token.
func parseTokens(name string, data []byte) (tokenSet, error) {
	tokens, err := adminapi.ParseTokens(data)
	if err != nil {
		return nil, fmt.Errorf("admin: tokens file %s %w", name, err)
	}
	set := make(tokenSet, 0, len(tokens))
	for _, t := range tokens {
		digest := sha256.Sum256([]byte(t.Token))
		set = append(set, credential{digest: digest, scope: t.Scope, who: tokenWho(digest)})
	}
	return set, nil
}

// tokenWho names a token by its digest: "token:" + 8 hex digits.
func tokenWho(digest [sha256.Size]byte) string { return "token:" + hex.EncodeToString(digest[:4]) }

// lookup finds token in the set. It compares the token's digest with every credential's in
// constant time, and always with all of them, so the time taken tells nothing about which
// tokens exist or how close a guess came.
func (ts tokenSet) lookup(token string) (credential, bool) {
	digest := sha256.Sum256([]byte(token))
	var found credential
	match := 0
	for _, c := range ts {
		eq := subtle.ConstantTimeCompare(digest[:], c.digest[:])
		if eq == 1 {
			found = c
		}
		match |= eq
	}
	return found, match == 1
}

// tokenFile is the tokens file, read at open and again whenever its directory changes (which
// catches writes in place, atomic renames and Kubernetes' secret symlink swaps; see package
// filewatch). A file that cannot be read or parsed on reload keeps the previous tokens in
// force and is logged as an error. Safe for concurrent use; Close stops the watch.
type tokenFile struct {
	path    string
	log     *slog.Logger
	tokens  atomic.Pointer[tokenSet]
	content atomic.Pointer[[sha256.Size]byte] // digest of the file last loaded
	watcher *filewatch.Watcher
}

// openTokenFile reads path and watches its directory until Close.
func openTokenFile(path string, log *slog.Logger) (*tokenFile, error) {
	f := &tokenFile{path: path, log: log}
	if _, err := f.load(); err != nil {
		return nil, err
	}
	if len(*f.tokens.Load()) == 0 {
		log.Warn("the admin tokens file holds no token: no bearer token is accepted", "file", path)
	}
	w, err := filewatch.New(filewatch.Config{
		Files:  []string{path},
		Reload: f.reload,
		OnError: func(err error) {
			log.Error("admin tokens file watch", "file", path, "err", err)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("admin: watch tokens file %s: %w", path, err)
	}
	f.watcher = w
	return f, nil
}

// current returns the tokens in force.
func (f *tokenFile) current() tokenSet { return *f.tokens.Load() }

// load reads and parses the file and puts its tokens in force; it reports whether the
// content changed since the last load.
func (f *tokenFile) load() (bool, error) {
	data, err := os.ReadFile(f.path)
	if err != nil {
		return false, fmt.Errorf("admin: read tokens file: %w", err)
	}
	sum := sha256.Sum256(data)
	if prev := f.content.Load(); prev != nil && bytes.Equal(prev[:], sum[:]) {
		return false, nil
	}
	set, err := parseTokens(f.path, data)
	if err != nil {
		return false, err
	}
	f.tokens.Store(&set)
	f.content.Store(&sum)
	return true, nil
}

// reload is the watcher's reload: load, logging the outcome.
func (f *tokenFile) reload(context.Context, filewatch.Reason) {
	changed, err := f.load()
	switch {
	case err != nil:
		f.log.Error("admin tokens file reload failed; the previous tokens stay in force", "file", f.path, "err", err)
	case changed:
		f.log.Info("admin tokens file reloaded", "file", f.path, "tokens", len(f.current()))
	}
}

// Close stops watching. Idempotent.
func (f *tokenFile) Close() error {
	if err := f.watcher.Close(); err != nil {
		return fmt.Errorf("admin: stop watching tokens file: %w", err)
	}
	return nil
}
