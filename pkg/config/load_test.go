package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// loadTOML loads given as the file "test.toml", with env and flags.
func loadTOML(t *testing.T, given string, env []string, flags map[string]string) (*Config, []Warning, error) {
	t.Helper()
	src := Sources{File: "test.toml", Env: env, Flags: flags}
	return load("test.toml", []byte(given), parseEnviron(env), src)
}

// errLines splits a joined error into its lines.
func errLines(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

// checkErr checks that err holds exactly the lines want, in order.
func checkErr(t *testing.T, err error, want []string) {
	t.Helper()
	got := errLines(err)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("error lines:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func warningStrings(ws []Warning) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.String())
	}
	return out
}

func TestLoadFile(t *testing.T) {
	tests := []struct {
		name         string
		given        string
		want         func(c *Config) // applied to Default() to make the expected Config
		wantErr      []string
		wantWarnings []string
	}{
		{
			name:  "empty file is the defaults",
			given: "",
			want:  func(c *Config) {},
		},
		{
			name:  "lists as TOML arrays",
			given: `types = ["user.login", "session.start"]` + "\n" + `skip-session-types = []`,
			want: func(c *Config) {
				c.Types = []string{"user.login", "session.start"}
				c.SkipSessionTypes = nil
			},
		},
		{
			name:  "lists as comma-separated strings, as teleport-event-handler documents",
			given: `types = "user.login, access_request.create,"` + "\n" + `skip-session-types = ""`,
			want: func(c *Config) {
				c.Types = []string{"user.login", "access_request.create"}
				c.SkipSessionTypes = nil
			},
		},
		{
			name:  "integers and booleans written as strings",
			given: `batch = "50"` + "\n" + `dry-run = "true"` + "\n" + "[nats]\nreplicas = \"3\"",
			want: func(c *Config) {
				c.Batch = 50
				c.DryRun = true
				c.NATS.Replicas = 3
			},
		},
		{
			name:  "start-time as a TOML date-time",
			given: "start-time = 2024-03-01T10:00:00+02:00",
			want:  func(c *Config) { c.StartTime = time.Date(2024, 3, 1, 8, 0, 0, 0, time.UTC) },
		},
		{
			name:  "start-time as an RFC 3339 string",
			given: `start-time = "2024-03-01T08:00:00.5Z"`,
			want:  func(c *Config) { c.StartTime = time.Date(2024, 3, 1, 8, 0, 0, 5e8, time.UTC) },
		},
		{
			name:    "start-time without an offset",
			given:   "start-time = 2024-03-01T10:00:00",
			wantErr: []string{"test.toml:1: start-time: want a time with a UTC offset, such as 2024-05-01T00:00:00Z"},
		},
		{
			name:    "start-time not a time",
			given:   `start-time = "yesterday"`,
			wantErr: []string{`test.toml:1: start-time: want an RFC 3339 time such as 2024-05-01T00:00:00Z, got "yesterday"`},
		},
		{
			name:    "duration as an integer is ambiguous",
			given:   "timeout = 10",
			wantErr: []string{`test.toml:1: timeout: want a duration string such as "10s", got integer 10`},
		},
		{
			name:    "bad duration",
			given:   `window-size = "1 day"`,
			wantErr: []string{`test.toml:1: window-size: want a duration such as "10s" or "1h30m", got "1 day"`},
		},
		{
			name:    "float for an integer",
			given:   "batch = 2.5",
			wantErr: []string{"test.toml:1: batch: want an integer, got float 2.5"},
		},
		{
			name:    "word for an integer",
			given:   `concurrency = "many"`,
			wantErr: []string{`test.toml:1: concurrency: want an integer, got "many"`},
		},
		{
			name:    "bad boolean",
			given:   `dry-run = "yes"`,
			wantErr: []string{`test.toml:1: dry-run: want true or false, got "yes"`},
		},
		{
			name:    "list with a number in it",
			given:   `types = ["user.login", 7]`,
			wantErr: []string{"test.toml:1: types: item 2: want a string, got integer 7"},
		},
		{
			name:    "number for a string",
			given:   "[teleport]\naddr = 3025",
			wantErr: []string{"test.toml:2: teleport.addr: want a string, got integer 3025"},
		},
		{
			name:  "byte sizes",
			given: "[nats]\nmax-bytes = \"10GiB\"",
			want:  func(c *Config) { c.NATS.MaxBytes = 10 << 30 },
		},
		{
			name:  "byte sizes as integers",
			given: "[nats]\nmax-bytes = 1000000",
			want:  func(c *Config) { c.NATS.MaxBytes = 1000000 },
		},
		{
			name:    "bad byte size",
			given:   "[nats]\nmax-bytes = \"10 parsecs\"",
			wantErr: []string{`test.toml:2: nats.max-bytes: want a byte count such as 1073741824 or "10GiB", got "10 parsecs"`},
		},
		{
			name:  "dotted keys inside a section, as teleport-event-handler's example writes refresh",
			given: "[teleport]\nrefresh.enabled = true\nrefresh.interval = \"30s\"",
			want: func(c *Config) {
				c.Teleport.Refresh.Enabled = true
				c.Teleport.Refresh.Interval = 30 * time.Second
			},
		},
		{
			name:  "inline tables",
			given: `redis = { addr = "redis:6379", key-prefix = "ap:" }`,
			want: func(c *Config) {
				c.Redis.Addr = "redis:6379"
				c.Redis.KeyPrefix = "ap:"
			},
		},
		{
			name:    "typo in a key, with its line",
			given:   "batch = 20\n\n[forward.fluentd]\nulr = \"https://f:8888/a.log\"",
			wantErr: []string{"test.toml:4: forward.fluentd.ulr: unknown key (did you mean forward.fluentd.url?)"},
		},
		{
			name:    "typo in a top-level key",
			given:   "window-sise = \"1h\"",
			wantErr: []string{"test.toml:1: window-sise: unknown key (did you mean window-size?)"},
		},
		{
			name:    "key in the wrong section",
			given:   "[fluentd]\nurl = \"https://f:8888/a.log\"",
			wantErr: []string{"test.toml:2: fluentd.url: unknown key (did you mean forward.fluentd.url?)"},
		},
		{
			name:    "unknown key with nothing close",
			given:   "[nats]\nzzzzzzzz = 1",
			wantErr: []string{"test.toml:2: nats.zzzzzzzz: unknown key"},
		},
		{
			name:    "empty unknown section",
			given:   "[kafka]",
			wantErr: []string{"test.toml: kafka: unknown section"},
		},
		{
			name:    "inline password is refused with a hint",
			given:   "[redis]\npassword = \"hunter2\"",
			wantErr: []string{"test.toml:2: redis.password: unknown key; secrets are never written in the configuration: use redis.password-file"},
		},
		{
			name:    "inline Sentinel password is refused with a hint to its own file",
			given:   "[redis]\nsentinel-password = \"hunter2\"",
			wantErr: []string{"test.toml:2: redis.sentinel-password: unknown key; secrets are never written in the configuration: use redis.sentinel-password-file"},
		},
		{
			name:    "inline Datadog API key is refused with a hint",
			given:   "[forward.datadog]\napi-key = \"0123456789abcdef\"",
			wantErr: []string{"test.toml:2: forward.datadog.api-key: unknown key; secrets are never written in the configuration: use forward.datadog.api-key-file or DD_API_KEY"},
		},
		{
			name:    "URL with a password is refused, and the password is not shown",
			given:   "[redis]\nurl = \"redis://app:hunter2@redis:6379/0\"",
			wantErr: []string{"test.toml:2: redis.url: must not hold credentials in its URL (put the user in redis.username and the password in redis.password-file)"},
		},
		{
			name:    "NATS token in the URL is refused",
			given:   "[nats]\nurl = \"nats://s3cr3t@nats:4222\"",
			wantErr: []string{"test.toml:2: nats.url: must not hold credentials in its URL (put credentials in nats.creds)"},
		},
		{
			name:    "PEM text where a file name belongs",
			given:   "[teleport]\nkey = \"-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----\"",
			wantErr: []string{"test.toml:2: teleport.key: want one line, not PEM text or several lines (name the file that holds it); the value is not shown"},
		},
		{
			name:    "a secret's file name that may be the secret",
			given:   "[forward.datadog]\napi-key-file = \"0123456789abcdef\"",
			wantErr: []string{`test.toml:2: forward.datadog.api-key-file: want the name of the file that holds the secret, with a "/" or "." in it (./name for a file in the working directory); the value is not shown`},
		},
		{
			name:  "a secret's file in the working directory",
			given: "[forward.datadog]\napi-key-file = \"./dd-api-key\"",
			want:  func(c *Config) { c.Forward.Datadog.APIKeyFile = "./dd-api-key" },
			wantWarnings: []string{
				"forward.datadog: configured, but shipper.sinks does not run the datadog sink",
			},
		},
		{
			name:    "credentials in a list item",
			given:   "[forward.datadog]\ntags = [\"env:prod\", \"src:https://u:p@x\"]",
			wantErr: []string{"test.toml:2: forward.datadog.tags: item 2: must not hold credentials in its URL (secrets are read only from files and DD_API_KEY)"},
		},
		{
			name:    "a section given a value",
			given:   `teleport = "localhost:3025"`,
			wantErr: []string{`test.toml:1: teleport: is a section; want a table of keys, got "localhost:3025"`},
		},
		{
			name:    "a key given a table",
			given:   "[teleport.addr]\nhost = \"x\"",
			wantErr: []string{"test.toml:1: teleport.addr: want a string, got a table"},
		},
		{
			name:    "a quoted key with a dot in it names no key",
			given:   "\"forward.fluentd\" = { url = \"https://f:8888/a.log\" }",
			wantErr: []string{`test.toml:1: "forward.fluentd".url: unknown key (did you mean forward.fluentd.url?)`},
		},
		{
			name:    "array of tables",
			given:   "[[shipper]]\nsinks = [\"fluentd\"]",
			wantErr: []string{"test.toml:1: shipper: is a section; want a table of keys, got an array of tables"},
		},
		{
			name:    "several problems, in file order",
			given:   "batch = \"x\"\n[teleport]\nadr = \"a:1\"\n[log]\nlevel = 3",
			wantErr: []string{`test.toml:1: batch: want an integer, got "x"`, "test.toml:3: teleport.adr: unknown key (did you mean teleport.addr?)", "test.toml:5: log.level: want a string, got integer 3"},
		},
		{
			name:    "syntax error with its line and column",
			given:   "batch = 20\n[teleport\naddr = \"x:1\"",
			wantErr: []string{"test.toml:3:10: toml: syntax error: expected '.' or ']' to end table name, but got '\\n' instead"},
		},
		{
			name:    "syntax error does not echo a bare value",
			given:   "[redis]\npassword = hunter2",
			wantErr: []string{`test.toml:2:12: redis.password: syntax error: expected value but found "…" instead`},
		},
		{
			name:    "duplicate key",
			given:   "batch = 1\nbatch = 2",
			wantErr: []string{"test.toml:2:11: batch: syntax error: Key '…' has already been defined."},
		},
		{
			name:         "storage is accepted and ignored",
			given:        `storage = "./storage"`,
			want:         func(c *Config) {},
			wantWarnings: []string{"test.toml:1: storage: ignored; auditpipe keeps its state in Redis"},
		},
		{
			name:  "debug sets log.level",
			given: "debug = true",
			want:  func(c *Config) { c.Log.Level = "debug" },
		},
		{
			name:  "log.level wins over debug",
			given: "debug = true\n[log]\nlevel = \"warn\"",
			want:  func(c *Config) { c.Log.Level = "warn" },
		},
		{
			name:    "bad debug",
			given:   "debug = 1",
			wantErr: []string{"test.toml:1: debug: want true or false, got integer 1"},
		},
		{
			name:  "lock-enabled runs the lock sink",
			given: "lock-enabled = true",
			want: func(c *Config) {
				c.LockEnabled = true
				c.Shipper.Sinks = []string{SinkFluentd, SinkLock}
			},
		},
		{
			name:  "the lock sink sets lock-enabled",
			given: "[shipper]\nsinks = \"datadog,lock\"",
			want: func(c *Config) {
				c.LockEnabled = true
				c.Shipper.Sinks = []string{SinkDatadog, SinkLock}
			},
		},
		{
			name:  "max-connections follows concurrency unless set",
			given: "concurrency = 8",
			want: func(c *Config) {
				c.Concurrency = 8
				c.Forward.Fluentd.MaxConnections = 16
			},
		},
		{
			name:  "max-connections when set",
			given: "concurrency = 8\n[forward.fluentd]\nmax-connections = 3",
			want: func(c *Config) {
				c.Concurrency = 8
				c.Forward.Fluentd.MaxConnections = 3
			},
		},
		{
			name:  "redis.url replaces the default addr",
			given: "[redis]\nurl = \"rediss://redis.internal:6380/2\"",
			want: func(c *Config) {
				c.Redis.Addr = ""
				c.Redis.URL = "rediss://redis.internal:6380/2"
				c.Redis.TLS.Enabled = true
			},
		},
		{
			name:  "redis.addrs replaces the default addr: Sentinel",
			given: "[redis]\naddrs = [\"s0:26379\", \"s1:26379\"]\nmaster-name = \"mymaster\"\nsentinel-password-file = \"/run/secrets/sentinel\"",
			want: func(c *Config) {
				c.Redis.Addr = ""
				c.Redis.Addrs = []string{"s0:26379", "s1:26379"}
				c.Redis.MasterName = "mymaster"
				c.Redis.SentinelPasswordFile = "/run/secrets/sentinel"
			},
		},
		{
			name:  "redis.addrs replaces the default addr: Cluster, as a comma-separated string",
			given: "[redis]\naddrs = \"r0:6379, r1:6379\"\ncluster = true",
			want: func(c *Config) {
				c.Redis.Addr = ""
				c.Redis.Addrs = []string{"r0:6379", "r1:6379"}
				c.Redis.Cluster = true
			},
		},
		{
			name:  "an empty redis.addrs keeps the default addr",
			given: "[redis]\naddrs = []",
			want:  func(c *Config) {},
		},
		{
			name:  "redis.addr set with redis.addrs is kept, for Validate to refuse",
			given: "[redis]\naddr = \"r:6379\"\naddrs = [\"r0:6379\", \"r1:6379\"]",
			want: func(c *Config) {
				c.Redis.Addr = "r:6379"
				c.Redis.Addrs = []string{"r0:6379", "r1:6379"}
			},
		},
		{
			name:  "a tls:// NATS URL turns nats.tls on",
			given: "[nats]\nurl = \"nats://n0:4222,tls://n1:4222\"\ntls.ca = \"/etc/nats/ca.crt\"",
			want: func(c *Config) {
				c.NATS.URL = "nats://n0:4222,tls://n1:4222"
				c.NATS.TLS = ClientTLS{Enabled: true, CA: "/etc/nats/ca.crt"}
			},
		},
		{
			name:  "nats.tls with a nats:// URL",
			given: "[nats.tls]\nenabled = true\ncert = \"/c.pem\"\nkey = \"/k.pem\"",
			want:  func(c *Config) { c.NATS.TLS = ClientTLS{Enabled: true, Cert: "/c.pem", Key: "/k.pem"} },
		},
		{
			name:    "a Sentinel password file that may be the password itself",
			given:   "[redis]\nsentinel-password-file = \"hunter2\"",
			wantErr: []string{`test.toml:2: redis.sentinel-password-file: want the name of the file that holds the secret, with a "/" or "." in it (./name for a file in the working directory); the value is not shown`},
		},
		{
			name:  "datadog configured but not run",
			given: "[forward.datadog]\nsite = \"datadoghq.eu\"",
			want:  func(c *Config) { c.Forward.Datadog.Site = "datadoghq.eu" },
			wantWarnings: []string{
				"forward.datadog: configured, but shipper.sinks does not run the datadog sink",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warnings, err := loadTOML(t, tt.given, nil, nil)
			checkErr(t, err, tt.wantErr)
			if gotW := warningStrings(warnings); !reflect.DeepEqual(gotW, tt.wantWarnings) {
				t.Errorf("warnings = %q, want %q", gotW, tt.wantWarnings)
			}
			if tt.want == nil {
				if got != nil {
					t.Errorf("got a Config with an error")
				}
				return
			}
			want := Default()
			tt.want(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got\n%v\nwant\n%v", got, want)
			}
		})
	}
}

// TestLoadTeleportEventHandlerExample loads the example from teleport-event-handler's
// documentation unchanged.
func TestLoadTeleportEventHandlerExample(t *testing.T) {
	const path = "testdata/teleport-event-handler.toml"
	got, warnings, err := Load(Sources{File: path})
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Timeout = 10 * time.Second
	want.Batch = 20
	want.Forward.Fluentd.CA = "/home/bob/event-handler/ca.crt"
	want.Forward.Fluentd.Cert = "/home/bob/event-handler/client.crt"
	want.Forward.Fluentd.Key = "/home/bob/event-handler/client.key"
	want.Forward.Fluentd.URL = "https://fluentd.example.com:8888/test.log"
	want.Forward.Fluentd.SessionURL = "https://fluentd.example.com:8888/session"
	want.Teleport.Addr = "localhost:3025"
	want.Teleport.Identity = "identity"
	want.Teleport.Refresh = Refresh{Enabled: true, Interval: 2 * time.Minute}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%v\nwant\n%v", got, want)
	}
	wantW := []string{path + ":3: storage: ignored; auditpipe keeps its state in Redis"}
	if gotW := warningStrings(warnings); !reflect.DeepEqual(gotW, wantW) {
		t.Errorf("warnings = %q, want %q", gotW, wantW)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}

	// With its files in place, it is a complete configuration for ingest and shipper.
	dir := t.TempDir()
	flags := map[string]string{}
	for _, key := range []string{"teleport.identity", "forward.fluentd.ca", "forward.fluentd.cert", "forward.fluentd.key"} {
		flags[key] = writeFile(t, dir, key, "pem")
	}
	got, _, err = Load(Sources{File: path, Flags: flags})
	if err != nil {
		t.Fatal(err)
	}
	for _, service := range []Service{ServiceIngest, ServiceShipper} {
		if err := got.ValidateFor(service); err != nil {
			t.Errorf("ValidateFor(%s) = %v", service, err)
		}
	}
}

// TestLoadTeleportEventHandlerAllKeys loads a file with every key teleport-event-handler reads.
func TestLoadTeleportEventHandlerAllKeys(t *testing.T) {
	const path = "testdata/teleport-event-handler-all-keys.toml"
	got, warnings, err := Load(Sources{File: path})
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.StartTime = time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC)
	want.Timeout = 10 * time.Second
	want.Batch = 50
	want.WindowSize = 12 * time.Hour
	want.Types = []string{"user.login", "access_request.create"}
	want.SkipEventTypes = []string{"session.print"}
	want.SkipSessionTypes = []string{"print", "desktop.recording"}
	want.Concurrency = 8
	want.LockEnabled = true
	want.LockFailedAttemptsCount = 5
	want.LockPeriod = 2 * time.Minute
	want.LockFor = time.Hour
	want.Log.Level = "debug"
	want.Shipper.Sinks = []string{SinkFluentd, SinkLock}
	want.Forward.Fluentd = Fluentd{
		CA:             "/etc/teleport-event-handler/ca.crt",
		Cert:           "/etc/teleport-event-handler/client.crt",
		Key:            "/etc/teleport-event-handler/client.key",
		URL:            "https://fluentd.internal:8888/events.log",
		SessionURL:     "https://fluentd.internal:8888/session",
		Batch:          100,
		MaxConnections: 16,
	}
	want.Teleport.Addr = "teleport.example.com:443"
	want.Teleport.CA = "/etc/teleport-event-handler/teleport-ca.pem"
	want.Teleport.Cert = "/etc/teleport-event-handler/teleport.crt"
	want.Teleport.Key = "/etc/teleport-event-handler/teleport.key"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%v\nwant\n%v", got, want)
	}
	wantW := []string{
		path + ":3: storage: ignored; auditpipe keeps its state in Redis",
		path + ":4: cursor: ignored; auditpipe keeps its cursors in Redis (to start over, change start-time with auditpipectl)",
	}
	if gotW := warningStrings(warnings); !reflect.DeepEqual(gotW, wantW) {
		t.Errorf("warnings = %q, want %q", gotW, wantW)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
}

func TestLoadFileErrors(t *testing.T) {
	_, _, err := Load(Sources{File: filepath.Join(t.TempDir(), "missing.toml")})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v, want fs.ErrNotExist", err)
	}
	var p *Problem
	_, _, err = loadTOML(t, "batch = true", nil, nil)
	if !errors.As(err, &p) || p.Key != "batch" || p.Source != "test.toml:1" {
		t.Errorf("errors.As(%v) = %+v, want the batch problem", err, p)
	}
}

func TestLoadFileFromEnv(t *testing.T) {
	dir := t.TempDir()
	fromEnv := writeFile(t, dir, "env.toml", "batch = 7")
	fromFlag := writeFile(t, dir, "flag.toml", "batch = 9")
	tests := []struct {
		name string
		src  Sources
		want int
	}{
		{"AUDITPIPE_CONFIG names the file", Sources{Env: []string{EnvConfig + "=" + fromEnv}}, 7},
		{"Sources.File wins over AUDITPIPE_CONFIG", Sources{File: fromFlag, Env: []string{EnvConfig + "=" + fromEnv}}, 9},
		{"empty AUDITPIPE_CONFIG is no file", Sources{Env: []string{EnvConfig + "="}}, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := Load(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			if c.Batch != tt.want {
				t.Errorf("batch = %d, want %d", c.Batch, tt.want)
			}
		})
	}
}

// TestPrecedence: defaults < file < DD_SITE < AUDITPIPE_* < flags, key by key.
func TestPrecedence(t *testing.T) {
	file := `
batch = 30
timeout = "7s"
types = "user.login"
[forward.datadog]
site = "us3.datadoghq.com"
[nats]
stream = "FROM_FILE"
`
	env := []string{
		"AUDITPIPE_TIMEOUT=8s",
		"AUDITPIPE_TYPES=session.start,session.end",
		"DD_SITE=datadoghq.eu",
		"AUDITPIPE_NATS_STREAM=FROM_ENV",
	}
	flags := map[string]string{"nats.stream": "FROM_FLAG", "concurrency": "2"}
	c, _, err := loadTOML(t, file, env, flags)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key  string
		got  any
		want any
	}{
		{"window-size (default)", c.WindowSize, 24 * time.Hour},
		{"batch (file)", c.Batch, 30},
		{"timeout (env over file)", c.Timeout, 8 * time.Second},
		{"types (env over file)", c.Types, []string{"session.start", "session.end"}},
		{"forward.datadog.site (DD_SITE over file)", c.Forward.Datadog.Site, "datadoghq.eu"},
		{"nats.stream (flag over env over file)", c.NATS.Stream, "FROM_FLAG"},
		{"concurrency (flag over default)", c.Concurrency, 2},
		{"forward.fluentd.max-connections (follows the flag)", c.Forward.Fluentd.MaxConnections, 4},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s = %v, want %v", tt.key, tt.got, tt.want)
		}
	}

	// AUDITPIPE_FORWARD_DATADOG_SITE wins over DD_SITE.
	env = append(env, "AUDITPIPE_FORWARD_DATADOG_SITE=ap1.datadoghq.com")
	c, _, err = loadTOML(t, file, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Forward.Datadog.Site != "ap1.datadoghq.com" {
		t.Errorf("site = %s, want AUDITPIPE_FORWARD_DATADOG_SITE's", c.Forward.Datadog.Site)
	}
}

// TestProblemsFromEveryLayer: one Load reports the problems of the file, the environment and
// the flags together.
func TestProblemsFromEveryLayer(t *testing.T) {
	_, _, err := loadTOML(t, "batch = \"x\"",
		[]string{"AUDITPIPE_BATCH=y", "AUDITPIPE_BATHC=1"},
		map[string]string{"batch": "z", "bacth": "1"})
	checkErr(t, err, []string{
		`test.toml:1: batch: want an integer, got "x"`,
		"env: AUDITPIPE_BATCH: want an integer, got \"y\"",
		"env: AUDITPIPE_BATHC: unknown variable (did you mean AUDITPIPE_BATCH?)",
		"flags: bacth: unknown key (did you mean batch?)",
		"flags: batch: want an integer, got \"z\"",
	})
}

// writeFile writes content to a file named name in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
