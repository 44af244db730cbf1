package config

import "time"

// MaxBatch is the largest batch: the most events Teleport answers in one page (its
// EventsMaxIterationLimit).
const MaxBatch = 10_000

// Config is the whole configuration of every auditpipe service. Its `toml` tags are the keys
// (see the package documentation); the top-level keys and the [teleport] and [forward.fluentd]
// sections are teleport-event-handler's, with its meanings and defaults.
//
// A Config from [Load] holds no secret in its keys (see [Secret] and the package
// documentation). Use [Default] or [Load] to make one; the zero value is not a usable
// configuration. A Config is a plain value: safe to read from several goroutines, not to
// change while others read it.
type Config struct {
	// StartTime is the earliest event time to export; zero means from now on. RFC 3339.
	StartTime time.Time `toml:"start-time"`
	// Timeout is how long ingest waits before polling again when Teleport has no new events.
	Timeout time.Duration `toml:"timeout"`
	// Batch is how many events ingest asks Teleport for per page: 1 to MaxBatch.
	Batch int `toml:"batch"`
	// WindowSize is the time range of one search window.
	WindowSize time.Duration `toml:"window-size"`
	// Types, when not empty, are the only event types exported.
	Types []string `toml:"types"`
	// SkipEventTypes are audit event types never exported.
	SkipEventTypes []string `toml:"skip-event-types"`
	// SkipSessionTypes are session recording event types never exported.
	SkipSessionTypes []string `toml:"skip-session-types"`
	// Concurrency is how many session recordings ingest streams at once.
	Concurrency int `toml:"concurrency"`
	// DryRun reads events but sends them to no sink (and locks no user).
	DryRun bool `toml:"dry-run"`
	// ExitOnLastEvent stops ingest once it has exported every event up to now.
	ExitOnLastEvent bool `toml:"exit-on-last-event"`
	// LockEnabled turns on the lock sink. [Load] keeps it in step with Shipper.Sinks: either
	// one turns the other on.
	LockEnabled bool `toml:"lock-enabled"`
	// LockFailedAttemptsCount failed logins within LockPeriod lock a user.
	LockFailedAttemptsCount int `toml:"lock-failed-attempts-count"`
	// LockPeriod is the window in which failed logins are counted.
	LockPeriod time.Duration `toml:"lock-period"`
	// LockFor is how long a lock lasts; zero means the lock does not expire.
	LockFor time.Duration `toml:"lock-for"`
	// Namespace is the Teleport audit namespace; Teleport has only "default".
	Namespace string `toml:"namespace"`

	Teleport Teleport `toml:"teleport"`
	Forward  Forward  `toml:"forward"`
	Redis    Redis    `toml:"redis"`
	NATS     NATS     `toml:"nats"`
	Ingest   Ingest   `toml:"ingest"`
	Shipper  Shipper  `toml:"shipper"`
	Admin    Admin    `toml:"admin"`
	Log      Log      `toml:"log"`
	Metrics  Metrics  `toml:"metrics"`
}

// Teleport is how ingest and the lock sink reach the Teleport Auth Service: an identity file,
// or a CA, certificate and key, never both.
type Teleport struct {
	// Addr is the Auth Service (host:3025) or Proxy (host:443) address.
	Addr string `toml:"addr"`
	// Identity is an identity file from `tctl auth sign` or Machine ID (tbot).
	Identity string `toml:"identity"`
	// Refresh reloads the identity file while running, for short-lived tbot certificates.
	Refresh Refresh `toml:"refresh"`
	// CA, Cert and Key are PEM files: the cluster CA and the client key pair.
	CA   string `toml:"ca"`
	Cert string `toml:"cert"`
	Key  string `toml:"key"`
}

// Refresh controls reloading of the Teleport identity file; it has no effect with a key pair.
type Refresh struct {
	Enabled  bool          `toml:"enabled"`
	Interval time.Duration `toml:"interval"`
}

// Forward holds the sinks' destinations.
type Forward struct {
	Fluentd Fluentd `toml:"fluentd"`
	Datadog Datadog `toml:"datadog"`
}

// Fluentd is the Fluentd in_http destination of the fluentd sink.
type Fluentd struct {
	// URL receives audit events; its path is the Fluentd tag.
	URL string `toml:"url"`
	// SessionURL receives session recording events, with ".<session id>.log" appended.
	SessionURL string `toml:"session-url"`
	// CA verifies Fluentd's certificate (system roots when empty); Cert and Key are the client
	// certificate for mutual TLS, both or neither.
	CA   string `toml:"ca"`
	Cert string `toml:"cert"`
	Key  string `toml:"key"`
	// Batch is the most events in one POST.
	Batch int `toml:"batch"`
	// MaxConnections caps connections to Fluentd; when no source sets it, [Load] makes it
	// 2 × Concurrency, as teleport-event-handler does.
	MaxConnections int `toml:"max-connections"`
}

// Datadog is the Datadog Logs destination of the datadog sink.
type Datadog struct {
	// Site is the Datadog site (datadoghq.com, datadoghq.eu, …); DD_SITE also sets it.
	Site string `toml:"site"`
	// URL, when set, replaces the site's intake URL (a proxy, a test server).
	URL string `toml:"url"`
	// APIKeyFile holds the API key; DD_API_KEY takes precedence. See [Datadog.APIKey].
	APIKeyFile string `toml:"api-key-file"`
	// Service, Source, Tags and Hostname are the log items' service, ddsource, ddtags
	// ("key:value" items) and hostname.
	Service  string   `toml:"service"`
	Source   string   `toml:"source"`
	Tags     []string `toml:"tags"`
	Hostname string   `toml:"hostname"`
	// Batch is the most log items in one request (Datadog accepts up to 1000).
	Batch int `toml:"batch"`

	// envAPIKey is DD_API_KEY as Load saw it, or nil. It is a pointer so that printing a
	// Config with fmt's %v or %#v shows an address, never the key.
	envAPIKey *Secret
}

// Redis is where auditpipe keeps windows, leases, cursors and lock counters: one server (Addr
// or URL), a Sentinel-monitored master (MasterName, with the Sentinels in Addrs) or a Cluster
// (Addrs, with Cluster for a single seed). Exactly one of Addr, URL and Addrs is set.
type Redis struct {
	// Addr is host:port of a single server.
	Addr string `toml:"addr"`
	// URL is redis://, rediss:// or unix:// as go-redis parses it, without a password: a
	// single server.
	URL string `toml:"url"`
	// Addrs are host:port addresses: the Sentinels with MasterName, else the seed nodes of a
	// Cluster (two or more, or one with Cluster). See [Redis.Mode].
	Addrs []string `toml:"addrs"`
	// MasterName is the master set that the Sentinels in Addrs monitor.
	MasterName string `toml:"master-name"`
	// Cluster makes Addrs the seed nodes of a Redis Cluster even when it holds one address
	// (a managed service's configuration endpoint).
	Cluster bool `toml:"cluster"`
	// Username is the ACL user.
	Username string `toml:"username"`
	// PasswordFile holds the password. See [Redis.Password].
	PasswordFile string `toml:"password-file"`
	// SentinelPasswordFile holds the Sentinels' own password (their requirepass), when they
	// have one; PasswordFile is the master's. See [Redis.SentinelPassword].
	SentinelPasswordFile string `toml:"sentinel-password-file"`
	// TLS is the client TLS setup; a rediss:// URL turns it on.
	TLS ClientTLS `toml:"tls"`
	// KeyPrefix starts every key auditpipe writes.
	KeyPrefix string `toml:"key-prefix"`
}

// RedisMode is the kind of Redis deployment a [Redis] configuration reaches.
type RedisMode string

// The Redis modes.
const (
	RedisSingle   RedisMode = "single"   // one server: Addr or URL
	RedisSentinel RedisMode = "sentinel" // the master MasterName, found through the Sentinels in Addrs
	RedisCluster  RedisMode = "cluster"  // a Redis Cluster, discovered from the seed nodes in Addrs
)

// Mode is the deployment r describes: Sentinel when MasterName is set, Cluster when Cluster is
// set or Addrs holds two or more addresses (go-redis's UniversalClient rule), else a single
// server. [Config.Validate] refuses the combinations that would be ambiguous.
func (r Redis) Mode() RedisMode {
	switch {
	case r.MasterName != "":
		return RedisSentinel
	case r.Cluster || len(r.Addrs) > 1:
		return RedisCluster
	}
	return RedisSingle
}

// ClientTLS is TLS towards a server: on or off, a CA to trust (system roots when empty) and
// an optional client key pair.
type ClientTLS struct {
	Enabled bool   `toml:"enabled"`
	CA      string `toml:"ca"`
	Cert    string `toml:"cert"`
	Key     string `toml:"key"`
}

// NATS is the JetStream server and the stream that carries the events.
type NATS struct {
	// URL is one server URL or a comma-separated list (nats://, tls://, ws://, wss://),
	// without credentials.
	URL string `toml:"url"`
	// Creds is a NATS credentials file (JWT and NKey seed).
	Creds string `toml:"creds"`
	// TLS is the client TLS setup: the servers verified against TLS.CA, a client certificate
	// for servers that verify clients. A tls:// or wss:// URL turns it on.
	TLS ClientTLS `toml:"tls"`
	// Stream is the JetStream stream name.
	Stream string `toml:"stream"`
	// Replicas is the stream's replica count, 1 to 5.
	Replicas int `toml:"replicas"`
	// MaxAge drops messages older than this; zero keeps them without an age limit.
	MaxAge time.Duration `toml:"max-age"`
	// MaxBytes caps the stream's size; -1 is no limit.
	MaxBytes ByteSize `toml:"max-bytes"`
	// DuplicateWindow is how long JetStream remembers message ids to drop repeats; it must
	// cover ingest's settle pass.
	DuplicateWindow time.Duration `toml:"duplicate-window"`
}

// Sink names, the members of Shipper.Sinks.
const (
	SinkFluentd = "fluentd"
	SinkDatadog = "datadog"
	SinkLock    = "lock"
)

// Ingest tunes how ingest replicas share the work in Redis.
type Ingest struct {
	// LeaseTTL is how long a replica holds a window or recording job without renewing it
	// (it renews every third of it): how soon the work of a killed replica passes to another.
	LeaseTTL time.Duration `toml:"lease-ttl"`
	// SettleGrace is how long after a search window's end it is read once more, for events
	// the backend surfaced late; zero turns the settle pass off. It must stay below
	// nats.duplicate-window.
	SettleGrace time.Duration `toml:"settle-grace"`
}

// Shipper is how shippers consume the stream: one durable consumer per sink.
type Shipper struct {
	// Sinks are the sinks that run: fluentd, datadog and lock.
	Sinks []string `toml:"sinks"`
	// MaxInFlight is the most unacknowledged messages per sink (JetStream MaxAckPending).
	MaxInFlight int `toml:"max-in-flight"`
	// MaxDeliver is how often a message is delivered before it goes to the dead-letter
	// stream; -1 is no limit.
	MaxDeliver int `toml:"max-deliver"`
	// AckWait is how long a delivered message may stay unacknowledged before redelivery.
	AckWait time.Duration `toml:"ack-wait"`
}

// HasSink reports whether name is one of the sinks that run.
func (s Shipper) HasSink(name string) bool {
	for _, sink := range s.Sinks {
		if sink == name {
			return true
		}
	}
	return false
}

// Admin is the admin API server.
type Admin struct {
	// Listen is the host:port the API serves on.
	Listen string `toml:"listen"`
	// TokensFile holds the bearer tokens; the admin service defines its format.
	TokensFile string `toml:"tokens-file"`
	// TLS serves the API over TLS, with client certificates when ClientCA is set.
	TLS ServerTLS `toml:"tls"`
	// InsecureNoAuth lets the API serve with neither tokens nor client certificates: for
	// development only.
	InsecureNoAuth bool `toml:"insecure-no-auth"`
}

// ServerTLS is TLS for a server: its key pair and, for client-certificate authentication, the
// CA that signs client certificates.
type ServerTLS struct {
	Cert     string `toml:"cert"`
	Key      string `toml:"key"`
	ClientCA string `toml:"client-ca"`
}

// Log is the services' log/slog output. See [Log.Handler].
type Log struct {
	// Level is debug, info, warn or error.
	Level string `toml:"level"`
	// Format is json or text.
	Format string `toml:"format"`
}

// Metrics is the Prometheus endpoint of every service.
type Metrics struct {
	// Listen is the host:port serving /metrics; empty turns the endpoint off.
	Listen string `toml:"listen"`
}

// Default returns the configuration that applies where no source sets a value. Its
// teleport-event-handler keys have that program's defaults; it has no Teleport credentials
// and no Fluentd URLs, which every real deployment sets.
func Default() *Config {
	const concurrency = 5
	return &Config{
		Timeout:                 5 * time.Second,
		Batch:                   20,
		WindowSize:              24 * time.Hour,
		SkipSessionTypes:        []string{"print"},
		Concurrency:             concurrency,
		LockFailedAttemptsCount: 3,
		LockPeriod:              time.Minute,
		Namespace:               "default",
		Teleport: Teleport{
			Addr:    "localhost:3025",
			Refresh: Refresh{Interval: time.Minute},
		},
		Forward: Forward{
			Fluentd: Fluentd{Batch: 100, MaxConnections: 2 * concurrency},
			Datadog: Datadog{Site: "datadoghq.com", Service: "teleport", Source: "teleport", Batch: 500},
		},
		Redis: Redis{Addr: "127.0.0.1:6379", KeyPrefix: "auditpipe:"},
		NATS: NATS{
			URL:             "nats://127.0.0.1:4222",
			Stream:          "TELEPORT_EVENTS",
			Replicas:        1,
			MaxAge:          7 * 24 * time.Hour,
			MaxBytes:        -1,
			DuplicateWindow: 2 * time.Hour,
		},
		Shipper: Shipper{
			Sinks:       []string{SinkFluentd},
			MaxInFlight: 4000,
			MaxDeliver:  20,
			AckWait:     30 * time.Second,
		},
		Ingest:  Ingest{LeaseTTL: 30 * time.Second, SettleGrace: 10 * time.Minute},
		Admin:   Admin{Listen: "127.0.0.1:8080"},
		Log:     Log{Level: "info", Format: "json"},
		Metrics: Metrics{Listen: ":9090"},
	}
}
