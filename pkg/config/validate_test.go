package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		given   func(c *Config) // applied to Default()
		wantErr []string
	}{
		{"defaults", func(c *Config) {}, nil},
		{"start-time in the past", func(c *Config) { c.StartTime = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC) }, nil},
		{"start-time in the future", func(c *Config) { c.StartTime = time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC) },
			[]string{"start-time: 2999-01-01T00:00:00Z is in the future"}},
		{"timeout zero", func(c *Config) { c.Timeout = 0 }, []string{"timeout: must be positive, got 0s"}},
		{"batch zero", func(c *Config) { c.Batch = 0 }, []string{"batch: must be 1 to 10000 (the most Teleport answers in one page), got 0"}},
		{"batch over Teleport's page", func(c *Config) { c.Batch = 10_001 }, []string{"batch: must be 1 to 10000 (the most Teleport answers in one page), got 10001"}},
		{"window-size negative", func(c *Config) { c.WindowSize = -time.Hour }, []string{"window-size: must be positive, got -1h0m0s"}},
		{"event types with spaces, commas or nothing", func(c *Config) {
			c.Types = []string{"user.login", "user login"}
			c.SkipEventTypes = []string{""}
			c.SkipSessionTypes = []string{"print,resize"}
		}, []string{
			`types: item 2: want an event type such as user.login, got "user login"`,
			`skip-event-types: item 1: want an event type such as user.login, got ""`,
			`skip-session-types: item 1: want an event type such as user.login, got "print,resize"`,
		}},
		{"concurrency zero", func(c *Config) { c.Concurrency = 0 }, []string{"concurrency: must be at least 1, got 0"}},
		{"lock settings", func(c *Config) {
			c.LockFailedAttemptsCount = 0
			c.LockPeriod = 0
			c.LockFor = -time.Second
		}, []string{
			"lock-failed-attempts-count: must be at least 1, got 0",
			"lock-period: must be positive, got 0s",
			"lock-for: must not be negative, got -1s (0 locks without expiry)",
		}},
		{"namespace other than default", func(c *Config) { c.Namespace = "prod" },
			[]string{`namespace: must be "default", Teleport's only audit namespace, got "prod"`}},
		{"teleport.addr without a port", func(c *Config) { c.Teleport.Addr = "teleport.example.com" },
			[]string{`teleport.addr: want host:port, got "teleport.example.com"`}},
		{"teleport.addr without a host", func(c *Config) { c.Teleport.Addr = ":3025" },
			[]string{`teleport.addr: want host:port, got ":3025"`}},
		{"teleport.addr with a bad port", func(c *Config) { c.Teleport.Addr = "t:99999" },
			[]string{`teleport.addr: want host:port, got "t:99999"`}},
		{"identity and key pair", func(c *Config) {
			c.Teleport.Identity = "/id"
			c.Teleport.Cert = "/c"
		}, []string{"teleport.identity: set either teleport.identity or teleport.ca, teleport.cert and teleport.key, not both"}},
		{"key pair without its key", func(c *Config) {
			c.Teleport.CA = "/ca"
			c.Teleport.Cert = "/c"
		}, []string{"teleport.key: teleport.ca, teleport.cert, teleport.key go together: teleport.ca, teleport.cert set, teleport.key missing"}},
		{"refresh interval zero", func(c *Config) { c.Teleport.Refresh.Interval = 0 },
			[]string{"teleport.refresh.interval: must be positive, got 0s"}},
		{"fluentd over http", func(c *Config) { c.Forward.Fluentd.URL = "http://fluentd.example.com:8888/a.log" },
			[]string{"forward.fluentd.url: scheme must be https, got http (http is accepted for a loopback host only)"}},
		{"fluentd over http to a loopback host", func(c *Config) {
			c.Forward.Fluentd.URL = "http://127.0.0.1:8888/a.log"
			c.Forward.Fluentd.SessionURL = "http://[::1]:8888/session"
			c.Forward.Datadog.URL = "http://localhost:9999"
		}, nil},
		{"fluentd with another scheme", func(c *Config) { c.Forward.Fluentd.URL = "ftp://fluentd/a.log" },
			[]string{`forward.fluentd.url: scheme must be https, got "ftp"`}},
		{"fluentd URL not absolute", func(c *Config) { c.Forward.Fluentd.SessionURL = "/session" },
			[]string{`forward.fluentd.session-url: want an absolute https URL, got "/session"`}},
		{"fluentd URL without a host", func(c *Config) { c.Forward.Fluentd.URL = "https:///a.log" },
			[]string{`forward.fluentd.url: has no host: "https:///a.log"`}},
		{"fluentd URL with a bad port", func(c *Config) { c.Forward.Fluentd.URL = "https://f:0/a.log" },
			[]string{`forward.fluentd.url: bad port "0"`}},
		{"fluentd URL with credentials", func(c *Config) { c.Forward.Fluentd.URL = "https://u:hunter2@f/a.log" },
			[]string{"forward.fluentd.url: must not hold credentials in its URL (secrets are read only from files and DD_API_KEY)"}},
		{"session-url with a query", func(c *Config) { c.Forward.Fluentd.SessionURL = "https://f/session?x=1" },
			[]string{"forward.fluentd.session-url: must not have a query or fragment: .<session id>.log is appended to it"}},
		{"fluentd cert without key, ca alone is fine", func(c *Config) {
			c.Forward.Fluentd.CA = "/ca"
			c.Forward.Fluentd.Cert = "/c"
		}, []string{"forward.fluentd.key: forward.fluentd.cert, forward.fluentd.key go together: forward.fluentd.cert set, forward.fluentd.key missing"}},
		{"fluentd batch and connections", func(c *Config) {
			c.Forward.Fluentd.Batch = 0
			c.Forward.Fluentd.MaxConnections = 0
		}, []string{"forward.fluentd.batch: must be at least 1, got 0", "forward.fluentd.max-connections: must be at least 1, got 0"}},
		{"datadog URL over http", func(c *Config) { c.Forward.Datadog.URL = "http://intake.example.com" },
			[]string{"forward.datadog.url: scheme must be https, got http (http is accepted for a loopback host only)"}},
		{"datadog source, tags and batch", func(c *Config) {
			c.Forward.Datadog.Source = ""
			c.Forward.Datadog.Tags = []string{"env:prod", "team:a,b", "", "a b"}
			c.Forward.Datadog.Batch = 1001
		}, []string{
			"forward.datadog.source: must not be empty",
			`forward.datadog.tags: item 2: want key:value without commas or spaces, got "team:a,b"`,
			`forward.datadog.tags: item 3: want key:value without commas or spaces, got ""`,
			`forward.datadog.tags: item 4: want key:value without commas or spaces, got "a b"`,
			"forward.datadog.batch: must be 1 to 1000 (Datadog's limit per request), got 1001",
		}},
		{"redis addr and url", func(c *Config) { c.Redis.URL = "redis://redis:6379" },
			[]string{"redis.url: set one of redis.addr, redis.url and redis.addrs, not several: redis.addr and redis.url are set"}},
		{"redis addr and addrs", func(c *Config) { c.Redis.Addrs = []string{"r0:6379", "r1:6379"} },
			[]string{"redis.addrs: set one of redis.addr, redis.url and redis.addrs, not several: redis.addr and redis.addrs are set"}},
		{"redis url and addrs", func(c *Config) {
			c.Redis.Addr = ""
			c.Redis.URL = "redis://redis:6379"
			c.Redis.Addrs = []string{"r0:6379", "r1:6379"}
		}, []string{"redis.url: set one of redis.addr, redis.url and redis.addrs, not several: redis.addrs and redis.url are set"}},
		{"redis Sentinel", func(c *Config) {
			c.Redis.Addr = ""
			c.Redis.Addrs = []string{"s0:26379", "s1:26379", "s2:26379"}
			c.Redis.MasterName = "mymaster"
			c.Redis.SentinelPasswordFile = "/run/secrets/sentinel"
			c.Redis.TLS = ClientTLS{Enabled: true, CA: "/ca"}
		}, nil},
		{"redis Sentinel with one Sentinel", func(c *Config) {
			c.Redis.Addr = ""
			c.Redis.Addrs = []string{"s0:26379"}
			c.Redis.MasterName = "mymaster"
		}, nil},
		{"redis Cluster of seeds", func(c *Config) {
			c.Redis.Addr = ""
			c.Redis.Addrs = []string{"r0:6379", "r1:6379"}
		}, nil},
		{"redis Cluster from one seed", func(c *Config) {
			c.Redis.Addr = ""
			c.Redis.Addrs = []string{"clustercfg.example.cache.amazonaws.com:6379"}
			c.Redis.Cluster = true
		}, nil},
		{"redis addrs with one address and neither Sentinel nor Cluster", func(c *Config) {
			c.Redis.Addr = ""
			c.Redis.Addrs = []string{"r0:6379"}
		}, []string{"redis.addrs: one address is a single server: write it as redis.addr, or set redis.master-name (Sentinel) or redis.cluster = true (a Cluster seed)"}},
		{"redis addrs items", func(c *Config) {
			c.Redis.Addr = ""
			c.Redis.Addrs = []string{"r0:6379", "r1", ":6379", "r0:6379", "r2:0"}
		}, []string{
			`redis.addrs: item 2: want host:port, got "r1"`,
			`redis.addrs: item 3: want host:port, got ":6379"`,
			`redis.addrs: names "r0:6379" twice`,
			`redis.addrs: item 5: want host:port, got "r2:0"`,
		}},
		{"redis master-name without addrs", func(c *Config) { c.Redis.MasterName = "mymaster" },
			[]string{"redis.master-name: needs redis.addrs: the addresses of the Sentinels"}},
		{"redis master-name and cluster", func(c *Config) {
			c.Redis.Addr = ""
			c.Redis.Addrs = []string{"s0:26379", "s1:26379"}
			c.Redis.MasterName = "my master"
			c.Redis.Cluster = true
		}, []string{
			"redis.cluster: set either redis.master-name (Sentinel) or redis.cluster, not both",
			`redis.master-name: must not contain spaces or control characters, got "my master"`,
		}},
		{"redis cluster without addrs", func(c *Config) { c.Redis.Cluster = true },
			[]string{"redis.cluster: needs redis.addrs: the seed nodes of the Cluster"}},
		{"redis Sentinel password without Sentinel", func(c *Config) { c.Redis.SentinelPasswordFile = "/run/secrets/sentinel" },
			[]string{"redis.sentinel-password-file: needs redis.master-name: it is the Sentinels' password"}},
		{"redis addr without a port", func(c *Config) { c.Redis.Addr = "redis" },
			[]string{`redis.addr: want host:port, got "redis"`}},
		{"redis url scheme", func(c *Config) {
			c.Redis.Addr = ""
			c.Redis.URL = "http://redis:6379"
		}, []string{`redis.url: scheme must be redis, rediss or unix, got "http"`}},
		{"redis url without a host", func(c *Config) {
			c.Redis.Addr = ""
			c.Redis.URL = "redis://"
		}, []string{`redis.url: has no host: "redis://"`}},
		{"redis unix socket", func(c *Config) {
			c.Redis.Addr = ""
			c.Redis.URL = "unix:///run/redis.sock"
		}, nil},
		{"redis unix socket without a path", func(c *Config) {
			c.Redis.Addr = ""
			c.Redis.URL = "unix://"
		}, []string{`redis.url: has no socket path: "unix://"`}},
		{"redis url with a password", func(c *Config) {
			c.Redis.Addr = ""
			c.Redis.URL = "redis://:hunter2@redis:6379"
		}, []string{"redis.url: must not hold credentials in its URL (put the user in redis.username and the password in redis.password-file)"}},
		{"redis url that does not parse", func(c *Config) {
			c.Redis.Addr = ""
			c.Redis.URL = "redis://redis:6379/%zz"
		}, []string{`redis.url: not a URL: "redis://redis:6379/%zz"`}},
		{"redis TLS files", func(c *Config) {
			c.Redis.TLS.Cert = "/c"
			c.Redis.TLS.CA = "/ca"
		}, []string{
			"redis.tls.key: redis.tls.cert, redis.tls.key go together: redis.tls.cert set, redis.tls.key missing",
			"redis.tls.enabled: is false, but redis.tls.ca or redis.tls.cert is set",
		}},
		{"redis key prefix with a space", func(c *Config) { c.Redis.KeyPrefix = "audit pipe:" },
			[]string{`redis.key-prefix: must not contain spaces or control characters, got "audit pipe:"`}},
		{"redis key prefix empty", func(c *Config) { c.Redis.KeyPrefix = "" },
			[]string{"redis.key-prefix: must not be empty: auditpipe's keys must not mix with others"}},
		{"redis key prefix with a hash tag", func(c *Config) { c.Redis.KeyPrefix = "ap{tenant}:" },
			[]string{`redis.key-prefix: must not contain { or }: the hash tag that keeps a script's keys in one Cluster slot follows it, got "ap{tenant}:"`}},
		{"nats cluster URLs", func(c *Config) { c.NATS.URL = "nats://n1:4222, tls://n2:4222,wss://n3" }, nil},
		{"nats URL scheme and host", func(c *Config) { c.NATS.URL = "http://n1:4222,n2:4222" }, []string{
			`nats.url: scheme must be nats, tls, ws or wss, got "http"`,
			`nats.url: want a URL such as nats://host:4222, got "n2:4222"`,
		}},
		{"nats TLS with a client certificate", func(c *Config) {
			c.NATS.TLS = ClientTLS{Enabled: true, CA: "/ca", Cert: "/c", Key: "/k"}
		}, nil},
		{"nats TLS files", func(c *Config) {
			c.NATS.TLS.Key = "/k"
			c.NATS.TLS.CA = "/ca"
		}, []string{
			"nats.tls.cert: nats.tls.cert, nats.tls.key go together: nats.tls.key set, nats.tls.cert missing",
			"nats.tls.enabled: is false, but nats.tls.ca or nats.tls.cert is set",
		}},
		{"nats URL with a token", func(c *Config) { c.NATS.URL = "nats://s3cr3t@n1:4222" },
			[]string{"nats.url: must not hold credentials in its URL (put credentials in nats.creds)"}},
		{"nats stream names", func(c *Config) { c.NATS.Stream = "TELEPORT.EVENTS" },
			[]string{`nats.stream: want a JetStream stream name of letters, digits, '_' and '-', got "TELEPORT.EVENTS"`}},
		{"nats stream empty", func(c *Config) { c.NATS.Stream = "" },
			[]string{`nats.stream: want a JetStream stream name of letters, digits, '_' and '-', got ""`}},
		{"nats stream names with a colon", func(c *Config) { c.NATS.Stream = "EVENTS:1" },
			[]string{`nats.stream: want a JetStream stream name of letters, digits, '_' and '-', got "EVENTS:1"`}},
		{"nats replicas", func(c *Config) { c.NATS.Replicas = 6 }, []string{"nats.replicas: must be 1 to 5, got 6"}},
		{"nats limits", func(c *Config) {
			c.NATS.MaxAge = -time.Second
			c.NATS.MaxBytes = 0
		}, []string{
			"nats.max-age: must not be negative, got -1s (0 is no age limit)",
			"nats.max-bytes: must be positive or -1 (no limit), got 0",
		}},
		{"duplicate window zero", func(c *Config) { c.NATS.DuplicateWindow = 0 },
			[]string{"nats.duplicate-window: must be positive, got 0s"}},
		{"duplicate window over max age", func(c *Config) {
			c.NATS.MaxAge = 2 * time.Hour
			c.NATS.DuplicateWindow = 3 * time.Hour
		}, []string{"nats.duplicate-window: must not exceed nats.max-age (2h0m0s), got 3h0m0s"}},
		{"duplicate window with no age limit", func(c *Config) {
			c.NATS.MaxAge = 0
			c.NATS.DuplicateWindow = 72 * time.Hour
		}, nil},
		{"no sinks", func(c *Config) { c.Shipper.Sinks = nil },
			[]string{"shipper.sinks: must name at least one sink (fluentd, datadog, lock)"}},
		{"unknown and repeated sinks", func(c *Config) { c.Shipper.Sinks = []string{"fluentd", "kafka", "fluentd"} },
			[]string{`shipper.sinks: unknown sink "kafka" (want fluentd, datadog or lock)`, `shipper.sinks: names "fluentd" twice`}},
		{"shipper limits", func(c *Config) {
			c.Shipper.MaxInFlight = 0
			c.Shipper.MaxDeliver = 0
			c.Shipper.AckWait = 0
		}, []string{
			"shipper.max-in-flight: must be at least 1, got 0",
			"shipper.max-deliver: must be positive or -1 (no limit), got 0",
			"shipper.ack-wait: must be positive, got 0s",
		}},
		{"unlimited deliveries", func(c *Config) { c.Shipper.MaxDeliver = -1 }, nil},
		{"admin listen", func(c *Config) { c.Admin.Listen = "8080" },
			[]string{`admin.listen: want [host]:port such as :9090 or 127.0.0.1:8080, got "8080"`}},
		{"listen on a free port", func(c *Config) {
			c.Admin.Listen = "127.0.0.1:0"
			c.Metrics.Listen = ":0"
		}, nil},
		{"admin TLS", func(c *Config) {
			c.Admin.TLS.Key = "/k"
			c.Admin.TLS.ClientCA = "/ca"
		}, []string{
			"admin.tls.cert: admin.tls.cert, admin.tls.key go together: admin.tls.key set, admin.tls.cert missing",
			"admin.tls.client-ca: needs admin.tls.cert and admin.tls.key: client certificates need TLS",
		}},
		{"log enums", func(c *Config) {
			c.Log.Level = "verbose"
			c.Log.Format = "xml"
		}, []string{`log.level: want debug, info, warn or error, got "verbose"`, `log.format: want json or text, got "xml"`}},
		{"metrics off", func(c *Config) { c.Metrics.Listen = "" }, nil},
		{"metrics listen", func(c *Config) { c.Metrics.Listen = "localhost" },
			[]string{`metrics.listen: want [host]:port such as :9090 or 127.0.0.1:8080, got "localhost"`}},
		{"unknown Datadog site is the shipper's concern", func(c *Config) { c.Forward.Datadog.Site = "example.com" }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.given(c)
			checkErr(t, c.Validate(), tt.wantErr)
		})
	}
}

func TestValidateFor(t *testing.T) {
	dir := t.TempDir()
	file := func(name string) string { return writeFile(t, dir, name, "x") }
	identity, ca, cert, key := file("identity"), file("ca.pem"), file("cert.pem"), file("key.pem")
	tokens, ddKey, password := file("tokens"), file("dd.key"), file("redis.password")
	missing := filepath.Join(dir, "missing")
	if err := os.Mkdir(filepath.Join(dir, "dir"), 0o700); err != nil {
		t.Fatal(err)
	}
	withIdentity := func(c *Config) { c.Teleport.Identity = identity }
	withFluentd := func(c *Config) {
		c.Forward.Fluentd.URL = "https://fluentd:8888/events.log"
		c.Forward.Fluentd.SessionURL = "https://fluentd:8888/session"
	}
	tests := []struct {
		name    string
		service Service
		given   func(c *Config)
		wantErr []string
	}{
		{"ingest with an identity file", ServiceIngest, withIdentity, nil},
		{"ingest with a key pair", ServiceIngest, func(c *Config) {
			c.Teleport.CA, c.Teleport.Cert, c.Teleport.Key = ca, cert, key
			c.Redis.PasswordFile = password
		}, nil},
		{"ingest without credentials", ServiceIngest, func(c *Config) {},
			[]string{"teleport.identity: Teleport credentials are required: set teleport.identity, or teleport.ca, teleport.cert and teleport.key"}},
		{"ingest without an address", ServiceIngest, func(c *Config) {
			withIdentity(c)
			c.Teleport.Addr = ""
		}, []string{"teleport.addr: required"}},
		{"ingest with a missing identity file", ServiceIngest, func(c *Config) { c.Teleport.Identity = missing },
			[]string{`teleport.identity: cannot open "` + missing + `": no such file or directory`}},
		{"ingest with a directory for identity", ServiceIngest, func(c *Config) { c.Teleport.Identity = filepath.Join(dir, "dir") },
			[]string{`teleport.identity: "` + filepath.Join(dir, "dir") + `" is a directory, want a file`}},
		{"ingest without Redis or NATS", ServiceIngest, func(c *Config) {
			withIdentity(c)
			c.Redis.Addr = ""
			c.NATS.URL = ""
		}, []string{"nats.url: required", "redis.addr: required: set redis.addr, redis.url or redis.addrs"}},
		{"ingest with Redis Sentinel and its files", ServiceIngest, func(c *Config) {
			withIdentity(c)
			c.Redis.Addr = ""
			c.Redis.Addrs = []string{"s0:26379", "s1:26379"}
			c.Redis.MasterName = "mymaster"
			c.Redis.PasswordFile, c.Redis.SentinelPasswordFile = password, password
		}, nil},
		{"ingest with a Redis Cluster", ServiceIngest, func(c *Config) {
			withIdentity(c)
			c.Redis.Addr = ""
			c.Redis.Addrs = []string{"r0:6379", "r1:6379"}
		}, nil},
		{"ingest with a missing Sentinel password file", ServiceIngest, func(c *Config) {
			withIdentity(c)
			c.Redis.Addr = ""
			c.Redis.Addrs = []string{"s0:26379"}
			c.Redis.MasterName = "mymaster"
			c.Redis.SentinelPasswordFile = missing
		}, []string{`redis.sentinel-password-file: cannot open "` + missing + `": no such file or directory`}},
		{"every service reads the NATS TLS files", ServiceShipper, func(c *Config) {
			withFluentd(c)
			c.NATS.TLS = ClientTLS{Enabled: true, CA: ca, Cert: cert, Key: missing}
		}, []string{`nats.tls.key: cannot open "` + missing + `": no such file or directory`}},
		{"ingest with missing secret files", ServiceIngest, func(c *Config) {
			withIdentity(c)
			c.NATS.Creds = missing
			c.Redis.PasswordFile = "hunter2"
		}, []string{
			`nats.creds: cannot open "` + missing + `": no such file or directory`,
			"redis.password-file: cannot open (value hidden: is it the secret rather than a file name?): no such file or directory",
		}},
		{"ingest does not need Fluentd", ServiceIngest, func(c *Config) {
			withIdentity(c)
			c.Forward.Fluentd.URL = ""
		}, nil},
		{"shipper with fluentd", ServiceShipper, func(c *Config) {
			withFluentd(c)
			c.Forward.Fluentd.CA, c.Forward.Fluentd.Cert, c.Forward.Fluentd.Key = ca, cert, key
		}, nil},
		{"shipper without Fluentd URLs", ServiceShipper, func(c *Config) {},
			[]string{"forward.fluentd.url: required", "forward.fluentd.session-url: required"}},
		{"shipper with a missing Fluentd key", ServiceShipper, func(c *Config) {
			withFluentd(c)
			c.Forward.Fluentd.Cert, c.Forward.Fluentd.Key = cert, missing
		}, []string{`forward.fluentd.key: cannot open "` + missing + `": no such file or directory`}},
		{"shipper does not need Teleport without the lock sink", ServiceShipper, func(c *Config) {
			withFluentd(c)
			c.Teleport.Addr = ""
			c.Redis.Addr = ""
		}, nil},
		{"shipper with datadog and an API key file", ServiceShipper, func(c *Config) {
			c.Shipper.Sinks = []string{SinkDatadog}
			c.Forward.Datadog.APIKeyFile = ddKey
		}, nil},
		{"shipper with datadog and DD_API_KEY", ServiceShipper, func(c *Config) {
			c.Shipper.Sinks = []string{SinkDatadog}
			c.Forward.Datadog.envAPIKey = &Secret{value: "0123456789abcdef"}
			c.Forward.Datadog.APIKeyFile = missing // not read: DD_API_KEY wins
		}, nil},
		{"shipper with datadog and no key", ServiceShipper, func(c *Config) { c.Shipper.Sinks = []string{SinkDatadog} },
			[]string{"forward.datadog.api-key-file: the datadog sink needs an API key: set DD_API_KEY or forward.datadog.api-key-file"}},
		{"shipper with datadog and the key itself as the file", ServiceShipper, func(c *Config) {
			c.Shipper.Sinks = []string{SinkDatadog}
			c.Forward.Datadog.APIKeyFile = "0123456789abcdef0123456789abcdef"
		}, []string{"forward.datadog.api-key-file: cannot open (value hidden: is it the secret rather than a file name?): no such file or directory"}},
		{"shipper with an unknown Datadog site", ServiceShipper, func(c *Config) {
			c.Shipper.Sinks = []string{SinkDatadog}
			c.Forward.Datadog.APIKeyFile = ddKey
			c.Forward.Datadog.Site = "datadoghq.org"
		}, []string{`forward.datadog.site: unknown Datadog site "datadoghq.org" (want one of datadoghq.com, us3.datadoghq.com, us5.datadoghq.com, datadoghq.eu, ap1.datadoghq.com, ap2.datadoghq.com, ddog-gov.com, or set forward.datadog.url)`}},
		{"shipper with a Datadog URL and any site", ServiceShipper, func(c *Config) {
			c.Shipper.Sinks = []string{SinkDatadog}
			c.Forward.Datadog.APIKeyFile = ddKey
			c.Forward.Datadog.Site = "datadoghq.org"
			c.Forward.Datadog.URL = "https://dd-proxy.internal"
		}, nil},
		{"shipper with the lock sink needs Teleport and Redis", ServiceShipper, func(c *Config) {
			c.Shipper.Sinks = []string{SinkLock}
			c.LockEnabled = true
			c.Redis.Addr = ""
		}, []string{
			"teleport.identity: Teleport credentials are required: set teleport.identity, or teleport.ca, teleport.cert and teleport.key",
			"redis.addr: required: set redis.addr, redis.url or redis.addrs",
		}},
		{"shipper with the lock sink", ServiceShipper, func(c *Config) {
			c.Shipper.Sinks = []string{SinkLock}
			c.LockEnabled = true
			withIdentity(c)
		}, nil},
		{"admin with tokens", ServiceAdmin, func(c *Config) { c.Admin.TokensFile = tokens }, nil},
		{"admin with client certificates", ServiceAdmin, func(c *Config) {
			c.Admin.TLS = ServerTLS{Cert: cert, Key: key, ClientCA: ca}
		}, nil},
		{"admin without authentication for development", ServiceAdmin, func(c *Config) { c.Admin.InsecureNoAuth = true }, nil},
		{"admin without authentication", ServiceAdmin, func(c *Config) {},
			[]string{"admin.tokens-file: the admin API needs authentication: set admin.tokens-file or admin.tls.client-ca (admin.insecure-no-auth is for development only)"}},
		{"admin with a missing tokens file", ServiceAdmin, func(c *Config) { c.Admin.TokensFile = missing },
			[]string{`admin.tokens-file: cannot open "` + missing + `": no such file or directory`}},
		{"validation problems come first", ServiceAdmin, func(c *Config) {
			c.Admin.TokensFile = tokens
			c.Batch = 0
		}, []string{"batch: must be 1 to 10000 (the most Teleport answers in one page), got 0"}},
		{"unknown service", Service("ingester"), func(c *Config) {},
			[]string{`service: unknown service "ingester" (want ingest, shipper or admin)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.given(c)
			checkErr(t, c.ValidateFor(tt.service), tt.wantErr)
		})
	}
}

// TestValidateReportsEverything: one call reports every problem, one per line.
func TestValidateReportsEverything(t *testing.T) {
	c := Default()
	c.Batch, c.Concurrency, c.Log.Level, c.NATS.Replicas = 0, 0, "loud", 0
	err := c.Validate()
	if n := len(strings.Split(err.Error(), "\n")); n != 4 {
		t.Errorf("%d problems reported, want 4:\n%v", n, err)
	}
}
