package config

import (
	"io"
	"log/slog"
)

// Handler returns the slog handler log.level and log.format ask for, writing to w: a JSON or
// text handler at that level. Values that [Config.Validate] rejects fall back to info and
// JSON.
func (l Log) Handler(w io.Writer) slog.Handler {
	level := slog.LevelInfo
	switch l.Level {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	if l.Format == "text" {
		return slog.NewTextHandler(w, opts)
	}
	return slog.NewJSONHandler(w, opts)
}
