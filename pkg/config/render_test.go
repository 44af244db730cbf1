package config

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// TestStringRoundTrip: String renders a TOML document that Load reads back to the same Config.
func TestStringRoundTrip(t *testing.T) {
	configs := map[string]*Config{"default": Default()}
	for _, path := range []string{"testdata/teleport-event-handler-all-keys.toml", "../../docs/examples/auditpipe.toml"} {
		c, _, err := Load(Sources{File: path})
		if err != nil {
			t.Fatal(err)
		}
		configs[path] = c
	}
	odd := Default()
	odd.StartTime = time.Date(2024, 5, 1, 12, 30, 0, 123456789, time.UTC)
	odd.Forward.Datadog.Tags = []string{`quote:"`, `back:\`, "uni:é", "tab:\t", "ctl:\x01"}
	odd.Redis.KeyPrefix = "ap{tenant}:"
	odd.NATS.MaxBytes = 10 << 30
	odd.LockFor = 90 * time.Minute
	configs["odd values"] = odd

	for name, c := range configs {
		t.Run(name, func(t *testing.T) {
			text := c.String()
			var root map[string]any
			if _, err := toml.Decode(text, &root); err != nil {
				t.Fatalf("String() is not TOML: %v\n%s", err, text)
			}
			got, _, err := load("rendered.toml", []byte(text), nil, Sources{})
			if err != nil {
				t.Fatalf("Load(String()) = %v\n%s", err, text)
			}
			if !reflect.DeepEqual(got, c) {
				t.Errorf("Load(String()) =\n%v\nwant\n%v", got, c)
			}
		})
	}
}

func TestStringShape(t *testing.T) {
	c := Default()
	c.Forward.Datadog.envAPIKey = &Secret{value: planted}
	text := c.String()
	for _, want := range []string{
		"# start-time = (not set)\n",
		"timeout = \"5s\"\n",
		"window-size = \"24h\"\n",
		"skip-session-types = [\"print\"]\n",
		"\n[teleport.refresh]\nenabled = false\ninterval = \"1m\"\n",
		"\n[forward.datadog]\n",
		"# the API key comes from DD_API_KEY\n",
		"\n[metrics]\nlisten = \":9090\"\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("String() lacks %q:\n%s", want, text)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	tests := map[time.Duration]string{
		0:                          "0s",
		time.Second:                "1s",
		90 * time.Second:           "1m30s",
		time.Minute:                "1m",
		24 * time.Hour:             "24h",
		2*time.Hour + time.Minute:  "2h1m",
		time.Hour + time.Second:    "1h0m1s",
		1500 * time.Millisecond:    "1.5s",
		-time.Hour:                 "-1h",
		time.Hour + 30*time.Minute: "1h30m",
	}
	for d, want := range tests {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
		if back, err := time.ParseDuration(formatDuration(d)); err != nil || back != d {
			t.Errorf("ParseDuration(%q) = %v, %v", formatDuration(d), back, err)
		}
	}
}

func TestLogValueAndJSON(t *testing.T) {
	c := Default()
	c.Types = []string{"user.login"}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("loaded", "config", c)
	var line struct {
		Config map[string]any `json:"config"`
	}
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var marshalled map[string]any
	if err := json.Unmarshal(j, &marshalled); err != nil {
		t.Fatal(err)
	}
	for _, m := range []map[string]any{line.Config, marshalled} {
		want := map[string]any{
			"timeout":             "5s",
			"batch":               float64(20),
			"dry-run":             false,
			"types":               []any{"user.login"},
			"start-time":          "",
			"forward.fluentd.url": "",
			"nats.max-bytes":      float64(-1),
		}
		for key, value := range want {
			if !reflect.DeepEqual(m[key], value) {
				t.Errorf("%s = %#v, want %#v", key, m[key], value)
			}
		}
		ks, _ := keys()
		if len(m) != len(ks.fields) {
			t.Errorf("%d keys, want %d", len(m), len(ks.fields))
		}
	}
}

func TestLogHandler(t *testing.T) {
	tests := []struct {
		log      Log
		wantJSON bool
		enabled  slog.Level
		disabled slog.Level
	}{
		{Log{Level: "info", Format: "json"}, true, slog.LevelInfo, slog.LevelDebug},
		{Log{Level: "debug", Format: "text"}, false, slog.LevelDebug, slog.LevelDebug - 1},
		{Log{Level: "warn", Format: "json"}, true, slog.LevelWarn, slog.LevelInfo},
		{Log{Level: "error", Format: "text"}, false, slog.LevelError, slog.LevelWarn},
		{Log{}, true, slog.LevelInfo, slog.LevelDebug},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		h := tt.log.Handler(&buf)
		if !h.Enabled(t.Context(), tt.enabled) || h.Enabled(t.Context(), tt.disabled) {
			t.Errorf("%+v: level wrong", tt.log)
		}
		slog.New(h).Error("x")
		if isJSON := json.Valid(buf.Bytes()); isJSON != tt.wantJSON {
			t.Errorf("%+v: JSON output %t, want %t: %s", tt.log, isJSON, tt.wantJSON, buf.String())
		}
	}
}

func TestTOMLString(t *testing.T) {
	tests := map[string]string{
		"":          `""`,
		"plain":     `"plain"`,
		`a"b\c`:     `"a\"b\\c"`,
		"l1\nl2\t":  `"l1\nl2\t"`,
		"\x00\x7f":  `"\u0000\u007F"`,
		"é✓":        `"é✓"`,
		"bad\xffut": "\"bad\uFFFDut\"",
	}
	for given, want := range tests {
		if got := tomlString(given); got != want {
			t.Errorf("tomlString(%q) = %s, want %s", given, got, want)
		}
	}
}
