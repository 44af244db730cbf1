package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// parseTime reads a time given on the command line, relative to now:
//   - RFC 3339: 2025-01-02T15:04:05Z, 2025-01-02T15:04:05+02:00;
//   - a UTC date: 2025-01-02 (its midnight);
//   - now;
//   - a duration from now: -72h, -90m, +1h, or with days: -3d, -1d12h; "now-72h" too.
//
// The result is in UTC.
func parseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return time.Time{}, fmt.Errorf("empty time: want RFC 3339 (2025-01-02T15:04:05Z), a date, now, or a duration from now such as -72h")
	case strings.EqualFold(s, "now"):
		return now.UTC(), nil
	}
	rel := s
	if len(rel) > 3 && strings.EqualFold(rel[:3], "now") {
		rel = rel[3:]
	}
	if rel[0] == '-' || rel[0] == '+' {
		d, err := parseDuration(rel)
		if err != nil {
			return time.Time{}, fmt.Errorf("time %q: %w", s, err)
		}
		return now.Add(d).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("time %q: want RFC 3339 (2025-01-02T15:04:05Z), a date (2025-01-02), now, or a duration from now such as -72h or -3d", s)
}

// parseDuration is time.ParseDuration with a leading number of days allowed ("-3d",
// "-1d12h"). s starts with a sign.
func parseDuration(s string) (time.Duration, error) {
	sign, rest := s[:1], s[1:]
	var days time.Duration
	if i := strings.IndexByte(rest, 'd'); i > 0 {
		n, err := strconv.Atoi(rest[:i])
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bad days %q", rest[:i+1])
		}
		days = time.Duration(n) * 24 * time.Hour
		rest = rest[i+1:]
	}
	var d time.Duration
	if rest != "" {
		var err error
		if d, err = time.ParseDuration(rest); err != nil {
			return 0, fmt.Errorf("bad duration %q: want e.g. -72h, -90m or -3d", s)
		}
		if d < 0 {
			return 0, fmt.Errorf("bad duration %q: one sign only", s)
		}
	}
	d += days
	if sign == "-" {
		d = -d
	}
	return d, nil
}
