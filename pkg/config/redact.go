package config

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// redacted replaces credentials wherever a value is shown.
const redacted = "REDACTED"

// redact returns s with the user information of every URL in it ("scheme://user:pass@host")
// replaced by REDACTED. It works on strings that do not parse as URLs, and on
// comma-separated lists of URLs.
func redact(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "://")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i+3])
		s = s[i+3:]
		end := strings.IndexAny(s, "/?#, \t\r\n")
		if end < 0 {
			end = len(s)
		}
		if at := strings.LastIndex(s[:end], "@"); at >= 0 {
			b.WriteString(redacted)
			s = s[at:]
		}
	}
}

// hasUserinfo reports whether a URL in s carries user information.
func hasUserinfo(s string) bool {
	return redact(s) != s
}

// secretFiles are the keys whose files hold secrets, with the inline spelling a user may
// try instead (which is an unknown key).
var secretFiles = map[string]string{
	"redis.password-file":          "redis.password",
	"redis.sentinel-password-file": "redis.sentinel-password",
	"forward.datadog.api-key-file": "forward.datadog.api-key",
	"admin.tokens-file":            "admin.tokens",
	"nats.creds":                   "nats.password",
}

// credentialHints tell where a URL's credentials go instead.
var credentialHints = map[string]string{
	"redis.url": "put the user in redis.username and the password in redis.password-file",
	"nats.url":  "put credentials in nats.creds",
}

// checkInlineSecret refuses a value that holds, or may be, a secret, so that a Config from
// [Load] never holds one: credentials in a URL, text over several lines or PEM text (a key
// pasted where its file's name belongs), and, for a secret's file, a name with neither "/"
// nor "." (which may be the secret itself: write ./name for a file in the working
// directory). The error does not show the value.
func checkInlineSecret(key, s string) error {
	if hasUserinfo(s) {
		hint, ok := credentialHints[key]
		if !ok {
			hint = "secrets are read only from files and DD_API_KEY"
		}
		return fmt.Errorf("must not hold credentials in its URL (%s)", hint)
	}
	if _, secret := secretFiles[key]; s != "" && !pathShown(s, secret) {
		if secret {
			return errors.New(`want the name of the file that holds the secret, with a "/" or "." in it (./name for a file in the working directory); the value is not shown`)
		}
		return errors.New("want one line, not PEM text or several lines (name the file that holds it); the value is not shown")
	}
	return nil
}

// hiddenPath stands for a file path that is not shown.
const hiddenPath = "(value hidden: is it the secret rather than a file name?)"

// showPath shows a file path in an error or a rendering, quoted. A value that cannot be a
// path is hidden: PEM text, several lines, or, for a secret's file, something with neither
// "/" nor "." in it, which may be the secret itself.
func showPath(path string, secret bool) string {
	if !pathShown(path, secret) {
		return hiddenPath
	}
	return quote(path)
}

func pathShown(path string, secret bool) bool {
	if strings.ContainsAny(path, "\r\n") || strings.Contains(path, "-----") || len(path) > 4096 {
		return false
	}
	return !secret || strings.ContainsAny(path, `/\.`)
}

// pathErr strips the path from a file error, which the caller shows through showPath; the
// underlying error stays wrapped for errors.Is.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// sanitizeParseMessage removes quoted text from a TOML syntax error message, where the parser
// may quote a value (a secret written without quotes, say): double-quoted text always, and
// single-quoted text longer than a few characters (a single quoted rune stays).
func sanitizeParseMessage(msg string) string {
	var b strings.Builder
	for i := 0; i < len(msg); i++ {
		q := msg[i]
		if q != '"' && q != '\'' {
			b.WriteByte(q)
			continue
		}
		end := closingQuote(msg, i+1, q)
		if end < 0 {
			b.WriteString(`"…"`)
			return b.String()
		}
		if content := msg[i+1 : end]; q == '"' || len(content) > 4 {
			b.WriteByte(q)
			b.WriteString("…")
			b.WriteByte(q)
		} else {
			b.WriteString(msg[i : end+1])
		}
		i = end
	}
	return b.String()
}

// closingQuote returns the index of the quote q that closes a quoted text starting at from,
// skipping backslash escapes, or -1.
func closingQuote(s string, from int, q byte) int {
	for i := from; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case q:
			return i
		}
	}
	return -1
}
