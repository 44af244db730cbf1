package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// streamNameRE is what auditpipe's JetStream stream and bucket names may hold: the object
// store's rule, the strictest of JetStream's, since every stream has a bucket named after it.
var streamNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// IsStreamName reports whether name may name an auditpipe stream or bucket (nats.stream):
// letters, digits, '_' and '-'.
func IsStreamName(name string) bool { return streamNameRE.MatchString(name) }

// Service names an auditpipe service, for [Config.ValidateFor].
type Service string

// The services.
const (
	ServiceIngest  Service = "ingest"
	ServiceShipper Service = "shipper"
	ServiceAdmin   Service = "admin"
)

// datadogSites are the Datadog sites forward.datadog.site accepts; forward.datadog.url
// reaches any other intake.
var datadogSites = []string{
	"datadoghq.com",
	"us3.datadoghq.com",
	"us5.datadoghq.com",
	"datadoghq.eu",
	"ap1.datadoghq.com",
	"ap2.datadoghq.com",
	"ddog-gov.com",
}

// Validate checks every value for what it can tell without a service in mind, files or
// network: ranges, formats, URL schemes, and keys that go together or exclude each other.
// Values that are empty because a service does not need them pass; [Config.ValidateFor]
// adds what one service requires. Its error joins a [*Problem] per problem, each naming
// its key.
//
// The rules that are choices, not formats:
//   - forward.fluentd.url, forward.fluentd.session-url and forward.datadog.url must be
//     https: audit events are sensitive. http is accepted for a loopback host only (a local
//     proxy, a test server). A Fluentd client certificate (cert and key) is optional, as in
//     teleport-event-handler; cert and key go together, and ca alone is fine.
//   - teleport.identity excludes teleport.ca, teleport.cert and teleport.key, which go
//     together (teleport-event-handler's rule).
//   - redis.addr, redis.url and redis.addrs exclude each other (Load clears the default addr
//     when a source sets url or addrs). redis.master-name (Sentinel) and redis.cluster need
//     redis.addrs and exclude each other; one address in redis.addrs needs one of them (else
//     it is redis.addr). redis.sentinel-password-file needs redis.master-name.
//   - redis.tls and nats.tls: cert and key go together; ca or cert needs enabled.
//   - No URL carries credentials: Redis users go in redis.username, secrets in files.
//   - namespace must be "default", Teleport's only namespace.
//   - start-time must not be in the future.
func (c *Config) Validate() error {
	v := &checker{now: time.Now()}
	v.config(c)
	return v.problems.err()
}

// ValidateFor is [Config.Validate] plus what service needs, which also checks that the files
// it will read exist and can be opened:
//   - every service: nats.url, and the nats.creds and nats.tls files when set;
//   - ingest: teleport.addr and Teleport credentials (an identity file, or ca, cert and key),
//     and Redis (addr, url or addrs, with its password and TLS files);
//   - shipper: for each sink in shipper.sinks, what that sink needs: fluentd its url and
//     session-url (and its TLS files); datadog an API key (DD_API_KEY or api-key-file) and a
//     known site unless url is set (checked only here, as DD_SITE may be in the environment
//     for the Datadog agent); lock the Teleport credentials and Redis, as ingest. Without
//     the lock sink the shipper needs neither Teleport nor Redis;
//   - admin: Redis, and authentication: admin.tokens-file or admin.tls.client-ca, unless
//     admin.insecure-no-auth is set; with its files.
func (c *Config) ValidateFor(service Service) error {
	v := &checker{now: time.Now()}
	v.config(c)
	v.required("nats.url", c.NATS.URL)
	v.file("nats.creds", c.NATS.Creds, true)
	v.file("nats.tls.ca", c.NATS.TLS.CA, false)
	v.file("nats.tls.cert", c.NATS.TLS.Cert, false)
	v.file("nats.tls.key", c.NATS.TLS.Key, false)
	switch service {
	case ServiceIngest:
		v.teleportRequired(c.Teleport)
		v.redisRequired(c.Redis)
	case ServiceShipper:
		if c.Shipper.HasSink(SinkFluentd) {
			v.fluentdRequired(c.Forward.Fluentd)
		}
		if c.Shipper.HasSink(SinkDatadog) {
			v.datadogRequired(c.Forward.Datadog)
		}
		if c.Shipper.HasSink(SinkLock) {
			v.teleportRequired(c.Teleport)
			v.redisRequired(c.Redis)
		}
	case ServiceAdmin:
		v.redisRequired(c.Redis)
		v.adminRequired(c.Admin)
	default:
		v.add("service", "unknown service %q (want ingest, shipper or admin)", string(service))
	}
	return v.problems.err()
}

// checker collects problems.
type checker struct {
	now      time.Time
	problems problems
}

func (v *checker) add(key, format string, args ...any) {
	v.problems.add("", key, fmt.Sprintf(format, args...))
}

func (v *checker) config(c *Config) {
	if !c.StartTime.IsZero() && c.StartTime.After(v.now) {
		v.add("start-time", "%s is in the future", c.StartTime.Format(time.RFC3339))
	}
	v.positive("timeout", c.Timeout)
	if c.Batch < 1 || c.Batch > MaxBatch {
		v.add("batch", "must be 1 to %d (the most Teleport answers in one page), got %d", MaxBatch, c.Batch)
	}
	v.positive("window-size", c.WindowSize)
	v.eventTypes("types", c.Types)
	v.eventTypes("skip-event-types", c.SkipEventTypes)
	v.eventTypes("skip-session-types", c.SkipSessionTypes)
	v.atLeast("concurrency", c.Concurrency, 1)
	v.atLeast("lock-failed-attempts-count", c.LockFailedAttemptsCount, 1)
	v.positive("lock-period", c.LockPeriod)
	if c.LockFor < 0 {
		v.add("lock-for", "must not be negative, got %s (0 locks without expiry)", c.LockFor)
	}
	if c.Namespace != "default" {
		v.add("namespace", `must be "default", Teleport's only audit namespace, got %s`, quote(c.Namespace))
	}
	v.teleport(c.Teleport)
	v.fluentd(c.Forward.Fluentd)
	v.datadog(c.Forward.Datadog)
	v.redis(c.Redis)
	v.nats(c.NATS)
	v.shipper(c.Shipper)
	v.admin(c.Admin)
	v.ingest(c.Ingest, c.NATS)
	v.log(c.Log)
	if c.Metrics.Listen != "" {
		v.listen("metrics.listen", c.Metrics.Listen)
	}
}

func (v *checker) teleport(t Teleport) {
	if t.Addr != "" {
		v.dialAddr("teleport.addr", t.Addr)
	}
	pair := t.CA != "" || t.Cert != "" || t.Key != ""
	if t.Identity != "" && pair {
		v.add("teleport.identity", "set either teleport.identity or teleport.ca, teleport.cert and teleport.key, not both")
	} else {
		v.together(map[string]string{"teleport.ca": t.CA, "teleport.cert": t.Cert, "teleport.key": t.Key})
	}
	v.positive("teleport.refresh.interval", t.Refresh.Interval)
}

func (v *checker) fluentd(f Fluentd) {
	if f.URL != "" {
		v.webURL("forward.fluentd.url", f.URL)
	}
	if f.SessionURL != "" && v.webURL("forward.fluentd.session-url", f.SessionURL) {
		if u, err := url.Parse(f.SessionURL); err == nil && (u.RawQuery != "" || u.Fragment != "") {
			v.add("forward.fluentd.session-url", "must not have a query or fragment: .<session id>.log is appended to it")
		}
	}
	v.together(map[string]string{"forward.fluentd.cert": f.Cert, "forward.fluentd.key": f.Key})
	v.atLeast("forward.fluentd.batch", f.Batch, 1)
	v.atLeast("forward.fluentd.max-connections", f.MaxConnections, 1)
}

func (v *checker) datadog(d Datadog) {
	if d.URL != "" {
		v.webURL("forward.datadog.url", d.URL)
	}
	if d.Source == "" {
		v.add("forward.datadog.source", "must not be empty")
	}
	for i, tag := range d.Tags {
		if tag == "" || strings.ContainsAny(tag, ", \t\r\n") {
			v.add("forward.datadog.tags", "item %d: want key:value without commas or spaces, got %s", i+1, quote(tag))
		}
	}
	if d.Batch < 1 || d.Batch > 1000 {
		v.add("forward.datadog.batch", "must be 1 to 1000 (Datadog's limit per request), got %d", d.Batch)
	}
}

func (v *checker) redis(r Redis) {
	var set []string
	for key, on := range map[string]bool{"redis.addr": r.Addr != "", "redis.url": r.URL != "", "redis.addrs": len(r.Addrs) > 0} {
		if on {
			set = append(set, key)
		}
	}
	slices.Sort(set) // addr, addrs, url
	switch {
	case len(set) > 1:
		v.add(set[len(set)-1], "set one of redis.addr, redis.url and redis.addrs, not several: %s are set", strings.Join(set, " and "))
	case r.Addr != "":
		v.dialAddr("redis.addr", r.Addr)
	case r.URL != "":
		v.redisURL(r.URL)
	case len(r.Addrs) > 0:
		v.redisAddrs(r)
	}
	if r.MasterName != "" {
		if len(r.Addrs) == 0 {
			v.add("redis.master-name", "needs redis.addrs: the addresses of the Sentinels")
		}
		if r.Cluster {
			v.add("redis.cluster", "set either redis.master-name (Sentinel) or redis.cluster, not both")
		}
		if strings.IndexFunc(r.MasterName, isSpaceOrControl) >= 0 {
			v.add("redis.master-name", "must not contain spaces or control characters, got %s", quote(r.MasterName))
		}
	}
	if r.Cluster && len(r.Addrs) == 0 {
		v.add("redis.cluster", "needs redis.addrs: the seed nodes of the Cluster")
	}
	if r.SentinelPasswordFile != "" && r.MasterName == "" {
		v.add("redis.sentinel-password-file", "needs redis.master-name: it is the Sentinels' password")
	}
	v.clientTLS("redis.tls", r.TLS)
	switch {
	case r.KeyPrefix == "":
		v.add("redis.key-prefix", "must not be empty: auditpipe's keys must not mix with others")
	case strings.IndexFunc(r.KeyPrefix, isSpaceOrControl) >= 0:
		v.add("redis.key-prefix", "must not contain spaces or control characters, got %s", quote(r.KeyPrefix))
	case strings.ContainsAny(r.KeyPrefix, "{}"):
		v.add("redis.key-prefix", "must not contain { or }: the hash tag that keeps a script's keys in one Cluster slot follows it, got %s", quote(r.KeyPrefix))
	}
}

// redisAddrs checks redis.addrs, which is set.
func (v *checker) redisAddrs(r Redis) {
	for i, addr := range r.Addrs {
		host, port, err := net.SplitHostPort(addr)
		switch {
		case err != nil || host == "" || !validPort(port, false):
			v.add("redis.addrs", "item %d: want host:port, got %s", i+1, quote(addr))
		case slices.Index(r.Addrs, addr) < i:
			v.add("redis.addrs", "names %s twice", quote(addr))
		}
	}
	if len(r.Addrs) == 1 && r.MasterName == "" && !r.Cluster {
		v.add("redis.addrs", "one address is a single server: write it as redis.addr, or set redis.master-name (Sentinel) or redis.cluster = true (a Cluster seed)")
	}
}

// clientTLS checks a client TLS table at key (redis.tls, nats.tls).
func (v *checker) clientTLS(key string, t ClientTLS) {
	v.together(map[string]string{key + ".cert": t.Cert, key + ".key": t.Key})
	if !t.Enabled && (t.CA != "" || t.Cert != "") {
		v.add(key+".enabled", "is false, but %s.ca or %s.cert is set", key, key)
	}
}

func (v *checker) redisURL(raw string) {
	if err := checkInlineSecret("redis.url", raw); err != nil {
		v.add("redis.url", "%v", err)
		return
	}
	u, err := url.Parse(raw)
	if err != nil {
		v.add("redis.url", "not a URL: %s", quote(raw))
		return
	}
	switch strings.ToLower(u.Scheme) {
	case "redis", "rediss":
		if u.Host == "" {
			v.add("redis.url", "has no host: %s", quote(raw))
		}
	case "unix":
		if u.Path == "" {
			v.add("redis.url", "has no socket path: %s", quote(raw))
		}
	default:
		v.add("redis.url", "scheme must be redis, rediss or unix, got %s", quote(u.Scheme))
	}
}

func (v *checker) nats(n NATS) {
	if n.URL != "" {
		v.natsURL(n.URL)
	}
	v.clientTLS("nats.tls", n.TLS)
	if !IsStreamName(n.Stream) {
		v.add("nats.stream", "want a JetStream stream name of letters, digits, '_' and '-', got %s", quote(n.Stream))
	}
	if n.Replicas < 1 || n.Replicas > 5 {
		v.add("nats.replicas", "must be 1 to 5, got %d", n.Replicas)
	}
	if n.MaxAge < 0 {
		v.add("nats.max-age", "must not be negative, got %s (0 is no age limit)", n.MaxAge)
	}
	if n.MaxBytes != -1 && n.MaxBytes < 1 {
		v.add("nats.max-bytes", "must be positive or -1 (no limit), got %d", n.MaxBytes)
	}
	if v.positive("nats.duplicate-window", n.DuplicateWindow) && n.MaxAge > 0 && n.DuplicateWindow > n.MaxAge {
		v.add("nats.duplicate-window", "must not exceed nats.max-age (%s), got %s", n.MaxAge, n.DuplicateWindow)
	}
}

func (v *checker) natsURL(list string) {
	if err := checkInlineSecret("nats.url", list); err != nil {
		v.add("nats.url", "%v", err)
		return
	}
	for raw := range strings.SplitSeq(list, ",") {
		raw = strings.TrimSpace(raw)
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			v.add("nats.url", "want a URL such as nats://host:4222, got %s", quote(raw))
			continue
		}
		switch strings.ToLower(u.Scheme) {
		case "nats", "tls", "ws", "wss":
		default:
			v.add("nats.url", "scheme must be nats, tls, ws or wss, got %s", quote(u.Scheme))
		}
	}
}

// knownSinks are the sink names shipper.sinks accepts.
var knownSinks = []string{SinkFluentd, SinkDatadog, SinkLock}

func (v *checker) shipper(s Shipper) {
	if len(s.Sinks) == 0 {
		v.add("shipper.sinks", "must name at least one sink (fluentd, datadog, lock)")
	}
	for i, sink := range s.Sinks {
		switch {
		case !slices.Contains(knownSinks, sink):
			v.add("shipper.sinks", "unknown sink %s (want fluentd, datadog or lock)", quote(sink))
		case slices.Index(s.Sinks, sink) < i:
			v.add("shipper.sinks", "names %s twice", quote(sink))
		}
	}
	v.atLeast("shipper.max-in-flight", s.MaxInFlight, 1)
	if s.MaxDeliver != -1 && s.MaxDeliver < 1 {
		v.add("shipper.max-deliver", "must be positive or -1 (no limit), got %d", s.MaxDeliver)
	}
	v.positive("shipper.ack-wait", s.AckWait)
}

// minLeaseTTL is the shortest ingest.lease-ttl: leases are renewed every third of it, and a
// renewal must fit in that with a Redis round trip to spare.
const minLeaseTTL = 3 * time.Second

func (v *checker) ingest(i Ingest, n NATS) {
	if i.LeaseTTL < minLeaseTTL {
		v.add("ingest.lease-ttl", "must be at least %s (leases are renewed every third of it), got %s", minLeaseTTL, i.LeaseTTL)
	}
	switch {
	case i.SettleGrace < 0:
		v.add("ingest.settle-grace", "must not be negative, got %s (0 turns settle passes off)", i.SettleGrace)
	case i.SettleGrace > 0 && n.DuplicateWindow > 0 && i.SettleGrace >= n.DuplicateWindow:
		v.add("ingest.settle-grace", "must be less than nats.duplicate-window (%s), so that a settle pass stores no duplicates, got %s",
			n.DuplicateWindow, i.SettleGrace)
	}
}

func (v *checker) admin(a Admin) {
	v.listen("admin.listen", a.Listen)
	v.together(map[string]string{"admin.tls.cert": a.TLS.Cert, "admin.tls.key": a.TLS.Key})
	if a.TLS.ClientCA != "" && a.TLS.Cert == "" {
		v.add("admin.tls.client-ca", "needs admin.tls.cert and admin.tls.key: client certificates need TLS")
	}
}

func (v *checker) log(l Log) {
	switch l.Level {
	case "debug", "info", "warn", "error":
	default:
		v.add("log.level", "want debug, info, warn or error, got %s", quote(l.Level))
	}
	switch l.Format {
	case "json", "text":
	default:
		v.add("log.format", "want json or text, got %s", quote(l.Format))
	}
}

// Requirements of services.

func (v *checker) teleportRequired(t Teleport) {
	v.required("teleport.addr", t.Addr)
	if t.Identity == "" && t.CA == "" && t.Cert == "" && t.Key == "" {
		v.add("teleport.identity", "Teleport credentials are required: set teleport.identity, or teleport.ca, teleport.cert and teleport.key")
	}
	v.file("teleport.identity", t.Identity, false)
	v.file("teleport.ca", t.CA, false)
	v.file("teleport.cert", t.Cert, false)
	v.file("teleport.key", t.Key, false)
}

func (v *checker) redisRequired(r Redis) {
	if r.Addr == "" && r.URL == "" && len(r.Addrs) == 0 {
		v.add("redis.addr", "required: set redis.addr, redis.url or redis.addrs")
	}
	v.file("redis.password-file", r.PasswordFile, true)
	v.file("redis.sentinel-password-file", r.SentinelPasswordFile, true)
	v.file("redis.tls.ca", r.TLS.CA, false)
	v.file("redis.tls.cert", r.TLS.Cert, false)
	v.file("redis.tls.key", r.TLS.Key, false)
}

func (v *checker) fluentdRequired(f Fluentd) {
	v.required("forward.fluentd.url", f.URL)
	v.required("forward.fluentd.session-url", f.SessionURL)
	v.file("forward.fluentd.ca", f.CA, false)
	v.file("forward.fluentd.cert", f.Cert, false)
	v.file("forward.fluentd.key", f.Key, false)
}

func (v *checker) datadogRequired(d Datadog) {
	if d.URL == "" && !slices.Contains(datadogSites, d.Site) {
		v.add("forward.datadog.site", "unknown Datadog site %s (want one of %s, or set forward.datadog.url)",
			quote(d.Site), strings.Join(datadogSites, ", "))
	}
	if d.envAPIKey == nil && d.APIKeyFile == "" {
		v.add("forward.datadog.api-key-file", "the datadog sink needs an API key: set DD_API_KEY or forward.datadog.api-key-file")
	}
	if d.envAPIKey == nil {
		v.file("forward.datadog.api-key-file", d.APIKeyFile, true)
	}
}

func (v *checker) adminRequired(a Admin) {
	if a.TokensFile == "" && a.TLS.ClientCA == "" && !a.InsecureNoAuth {
		v.add("admin.tokens-file", "the admin API needs authentication: set admin.tokens-file or admin.tls.client-ca (admin.insecure-no-auth is for development only)")
	}
	v.file("admin.tokens-file", a.TokensFile, true)
	v.file("admin.tls.cert", a.TLS.Cert, false)
	v.file("admin.tls.key", a.TLS.Key, false)
	v.file("admin.tls.client-ca", a.TLS.ClientCA, false)
}

// Checks of one value.

func (v *checker) required(key, value string) {
	if value == "" {
		v.add(key, "required")
	}
}

// file checks that path, when set, is a file that can be opened. secret marks a file that
// holds a secret, whose path is hidden when it may be the secret itself.
func (v *checker) file(key, path string, secret bool) {
	if path == "" {
		return
	}
	f, err := os.Open(path)
	if err != nil {
		v.add(key, "cannot open %s: %v", showPath(path, secret), pathErr(err))
		return
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.IsDir() {
		v.add(key, "%s is a directory, want a file", showPath(path, secret))
	}
}

// positive checks d > 0 and reports whether it is.
func (v *checker) positive(key string, d time.Duration) bool {
	if d <= 0 {
		v.add(key, "must be positive, got %s", d)
		return false
	}
	return true
}

func (v *checker) atLeast(key string, n, least int) {
	if n < least {
		v.add(key, "must be at least %d, got %d", least, n)
	}
}

// together checks that the values of keys are all set or all empty.
func (v *checker) together(values map[string]string) {
	var set, unset []string
	for key, value := range values {
		if value != "" {
			set = append(set, key)
		} else {
			unset = append(unset, key)
		}
	}
	if len(set) == 0 || len(unset) == 0 {
		return
	}
	slices.Sort(set)
	slices.Sort(unset)
	all := append(slices.Clone(set), unset...)
	slices.Sort(all)
	v.add(unset[0], "%s go together: %s set, %s missing",
		strings.Join(all, ", "), strings.Join(set, ", "), strings.Join(unset, ", "))
}

func (v *checker) eventTypes(key string, list []string) {
	for i, t := range list {
		if t == "" || strings.Contains(t, ",") || strings.IndexFunc(t, isSpaceOrControl) >= 0 {
			v.add(key, "item %d: want an event type such as user.login, got %s", i+1, quote(t))
		}
	}
}

// webURL checks an https URL (http for a loopback host) and reports whether it is valid.
func (v *checker) webURL(key, raw string) bool {
	if err := checkInlineSecret(key, raw); err != nil {
		v.add(key, "%v", err)
		return false
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		v.add(key, "want an absolute https URL, got %s", quote(raw))
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			v.add(key, "scheme must be https, got http (http is accepted for a loopback host only)")
			return false
		}
	default:
		v.add(key, "scheme must be https, got %s", quote(u.Scheme))
		return false
	}
	if u.Host == "" {
		v.add(key, "has no host: %s", quote(raw))
		return false
	}
	if port := u.Port(); port != "" && !validPort(port, false) {
		v.add(key, "bad port %s", quote(port))
		return false
	}
	return true
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// dialAddr checks a host:port to connect to.
func (v *checker) dialAddr(key, addr string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || !validPort(port, false) {
		v.add(key, "want host:port, got %s", quote(addr))
	}
}

// listen checks a [host]:port to listen on; port 0 picks a free port.
func (v *checker) listen(key, addr string) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil || !validPort(port, true) {
		v.add(key, "want [host]:port such as :9090 or 127.0.0.1:8080, got %s", quote(addr))
	}
}

func validPort(port string, zeroOK bool) bool {
	n, err := strconv.Atoi(port)
	if err != nil || n > 65535 || n < 0 {
		return false
	}
	return n > 0 || zeroOK
}

func isSpaceOrControl(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsControl(r)
}
