package config

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// ByteSize is a number of bytes. It is written as an integer or as a string with a unit:
// "512MB", "10GiB" (B, KB, MB, GB, TB are powers of 1000; KiB, MiB, GiB, TiB of 1024).
type ByteSize int64

var sizeUnits = map[string]int64{
	"":    1,
	"B":   1,
	"KB":  1000,
	"MB":  1000 * 1000,
	"GB":  1000 * 1000 * 1000,
	"TB":  1000 * 1000 * 1000 * 1000,
	"KIB": 1 << 10,
	"MIB": 1 << 20,
	"GIB": 1 << 30,
	"TIB": 1 << 40,
}

// parseSize reads a ByteSize: "-1", "1048576", "10GiB", "512 MB". Fractions ("1.5GB") are
// not accepted.
func parseSize(s string) (ByteSize, error) {
	s = strings.TrimSpace(s)
	num := strings.TrimRightFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	unit := strings.ToUpper(strings.TrimSpace(s[len(num):]))
	mult, ok := sizeUnits[unit]
	n, err := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil {
		return 0, errors.New(`want a byte count such as 1073741824 or "10GiB"`)
	}
	if n != 0 && (n > math.MaxInt64/mult || n < math.MinInt64/mult) {
		return 0, errors.New("byte count out of range")
	}
	return ByteSize(n * mult), nil
}

// setString stores s, read as f's kind, in c. Environment variables, flags and TOML strings
// come this way. The error says what was wanted; it shows s only through [redact].
func (f *field) setString(c *Config, s string) error {
	v := f.value(c)
	switch f.kind {
	case kindString:
		if err := checkInlineSecret(f.key, s); err != nil {
			return err
		}
		v.SetString(s)
	case kindInt:
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("want an integer, got %s", quote(s))
		}
		v.SetInt(int64(n))
	case kindBool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("want true or false, got %s", quote(s))
		}
		v.SetBool(b)
	case kindDuration:
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf(`want a duration such as "10s" or "1h30m", got %s`, quote(s))
		}
		v.SetInt(int64(d))
	case kindTime:
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("want an RFC 3339 time such as 2024-05-01T00:00:00Z, got %s", quote(s))
		}
		v.Set(reflect.ValueOf(t))
	case kindList:
		list := splitList(s)
		if err := checkList(f.key, list); err != nil {
			return err
		}
		v.Set(reflect.ValueOf(list))
	case kindSize:
		n, err := parseSize(s)
		if err != nil {
			return fmt.Errorf("%w, got %s", err, quote(s))
		}
		v.SetInt(int64(n))
	}
	return nil
}

// setTOML stores a decoded TOML value in c. A TOML string is read by [field.setString], as
// teleport-event-handler's reader accepted; otherwise the TOML type must match f's kind.
func (f *field) setTOML(c *Config, data any) error {
	if s, ok := data.(string); ok {
		return f.setString(c, s)
	}
	v := f.value(c)
	switch f.kind {
	case kindInt, kindSize:
		n, ok := data.(int64)
		if !ok {
			return fmt.Errorf("want an integer, got %s", describe(data))
		}
		if f.kind == kindInt && (n > math.MaxInt || n < math.MinInt) {
			return fmt.Errorf("integer %d out of range", n)
		}
		v.SetInt(n)
		return nil
	case kindBool:
		b, ok := data.(bool)
		if !ok {
			return fmt.Errorf("want true or false, got %s", describe(data))
		}
		v.SetBool(b)
		return nil
	case kindTime:
		t, ok := data.(time.Time)
		if !ok {
			return fmt.Errorf("want an RFC 3339 time such as 2024-05-01T00:00:00Z, got %s", describe(data))
		}
		if isLocalTOMLTime(t) {
			return errors.New("want a time with a UTC offset, such as 2024-05-01T00:00:00Z")
		}
		v.Set(reflect.ValueOf(t))
		return nil
	case kindList:
		items, ok := data.([]any)
		if !ok {
			return fmt.Errorf("want a list of strings or a comma-separated string, got %s", describe(data))
		}
		var list []string // nil when empty, as from splitList
		for i, item := range items {
			s, ok := item.(string)
			if !ok {
				return fmt.Errorf("item %d: want a string, got %s", i+1, describe(item))
			}
			list = append(list, s)
		}
		if err := checkList(f.key, list); err != nil {
			return err
		}
		v.Set(reflect.ValueOf(list))
		return nil
	case kindDuration:
		return fmt.Errorf(`want a duration string such as "10s", got %s`, describe(data))
	}
	return fmt.Errorf("want a string, got %s", describe(data))
}

// checkList applies [checkInlineSecret] to every item of a list.
func checkList(key string, list []string) error {
	for i, item := range list {
		if err := checkInlineSecret(key, item); err != nil {
			return fmt.Errorf("item %d: %w", i+1, err)
		}
	}
	return nil
}

// isLocalTOMLTime reports whether t is a TOML local date, time or date-time: one without a
// UTC offset, which BurntSushi/toml marks with these zone names.
func isLocalTOMLTime(t time.Time) bool {
	switch t.Location().String() {
	case "datetime-local", "date-local", "time-local":
		return true
	}
	return false
}

// splitList reads a comma-separated list: items are trimmed, empty items dropped, so ""
// is the empty list.
func splitList(s string) []string {
	var list []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			list = append(list, item)
		}
	}
	return list
}

// describe names a decoded TOML value's type, and shows the value when it cannot be secret.
func describe(data any) string {
	switch d := data.(type) {
	case int64:
		return fmt.Sprintf("integer %d", d)
	case float64:
		return fmt.Sprintf("float %v", d)
	case bool:
		return fmt.Sprintf("boolean %t", d)
	case time.Time:
		return "a date-time"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	case []map[string]any:
		return "an array of tables"
	case string:
		return quote(d)
	}
	return fmt.Sprintf("%T", data)
}

// quote shows a user-written string in an error message, with credentials removed.
func quote(s string) string {
	const max = 80
	s = redact(s)
	if len(s) > max {
		s = s[:max] + "…"
	}
	return strconv.Quote(s)
}
