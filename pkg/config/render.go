package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// String renders the configuration as a TOML document of every key, which [Load] reads back.
// It shows no secret: URLs lose their credentials, and a value that cannot be a file name
// where one belongs (PEM text, several lines, or for a secret's file something that may be
// the secret itself) is left out, as a comment.
func (c Config) String() string {
	ks, err := keys()
	if err != nil {
		return err.Error()
	}
	var sections []string
	bySection := map[string][]*field{}
	for _, f := range ks.fields {
		s := strings.Join(f.path[:len(f.path)-1], ".")
		if _, ok := bySection[s]; !ok {
			sections = append(sections, s)
		}
		bySection[s] = append(bySection[s], f)
	}
	var b strings.Builder
	for _, s := range sections {
		if s != "" {
			fmt.Fprintf(&b, "\n[%s]\n", s)
		}
		for _, f := range bySection[s] {
			name := f.path[len(f.path)-1]
			if text, ok := f.tomlValue(&c); ok {
				fmt.Fprintf(&b, "%s = %s\n", name, text)
			} else {
				fmt.Fprintf(&b, "# %s = %s\n", name, text)
			}
		}
		if s == "forward.datadog" && c.Forward.Datadog.envAPIKey != nil {
			fmt.Fprintf(&b, "# the API key comes from %s\n", EnvDatadogAPIKey)
		}
	}
	return b.String()
}

// GoString is String, so that %#v shows no credentials either.
func (c Config) GoString() string { return c.String() }

// tomlValue renders f's value in c as TOML. ok is false when the value is not set (a zero
// start-time) or hidden, and text then explains, for a comment.
func (f *field) tomlValue(c *Config) (text string, ok bool) {
	v := f.value(c)
	switch f.kind {
	case kindString:
		s := v.String()
		if _, secret := secretFiles[f.key]; s != "" && !pathShown(s, secret) {
			return hiddenPath, false
		}
		return tomlString(redact(s)), true
	case kindInt, kindSize:
		return strconv.FormatInt(v.Int(), 10), true
	case kindBool:
		return strconv.FormatBool(v.Bool()), true
	case kindDuration:
		return tomlString(formatDuration(time.Duration(v.Int()))), true
	case kindTime:
		t, _ := v.Interface().(time.Time)
		if t.IsZero() {
			return "(not set)", false
		}
		return t.Format(time.RFC3339Nano), true
	case kindList:
		list, _ := v.Interface().([]string)
		items := make([]string, len(list))
		for i, s := range list {
			items[i] = tomlString(redact(s))
		}
		return "[" + strings.Join(items, ", ") + "]", true
	}
	return "(unknown kind)", false
}

// formatDuration writes d as time.Duration.String does, without its zero minutes and
// seconds: "24h", "1m", "2h30m", "1m30s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	s = strings.ToValidUTF8(s, string(utf8.RuneError))
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// LogValue logs every key as an attribute named by its dotted key, with the values
// [Config.MarshalJSON] shows.
func (c Config) LogValue() slog.Value {
	ks, err := keys()
	if err != nil {
		return slog.StringValue(err.Error())
	}
	attrs := make([]slog.Attr, 0, len(ks.fields))
	for _, f := range ks.fields {
		attrs = append(attrs, slog.Any(f.key, f.display(&c)))
	}
	return slog.GroupValue(attrs...)
}

// MarshalJSON encodes the configuration as one JSON object of dotted keys, with no secret
// shown (see [Config.String]): durations as strings ("10s"), start-time as RFC 3339 or "".
// It is for printing; [Load] reads TOML.
func (c Config) MarshalJSON() ([]byte, error) {
	ks, err := keys()
	if err != nil {
		return nil, err
	}
	values := make(map[string]any, len(ks.fields))
	for _, f := range ks.fields {
		values[f.key] = f.display(&c)
	}
	return json.Marshal(values)
}

// display is f's value in c for logs and JSON: a string, int64, bool or []string.
func (f *field) display(c *Config) any {
	v := f.value(c)
	switch f.kind {
	case kindString:
		s := v.String()
		if _, secret := secretFiles[f.key]; s != "" && !pathShown(s, secret) {
			return hiddenPath
		}
		return redact(s)
	case kindInt, kindSize:
		return v.Int()
	case kindBool:
		return v.Bool()
	case kindDuration:
		return formatDuration(time.Duration(v.Int()))
	case kindTime:
		t, _ := v.Interface().(time.Time)
		if t.IsZero() {
			return ""
		}
		return t.Format(time.RFC3339Nano)
	case kindList:
		list, _ := v.Interface().([]string)
		items := make([]string, len(list))
		for i, s := range list {
			items[i] = redact(s)
		}
		return items
	}
	return ""
}
