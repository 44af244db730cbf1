package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/auditpipe/auditpipe/pkg/teleportsim"
)

// defaultSpan is how far before --to the log starts when --from is not given.
const defaultSpan = 72 * time.Hour

// config is everything the flags set.
type config struct {
	log           teleportsim.Options
	server        teleportsim.ServerConfig // Log and Logger are set by run
	manifest      string
	readyFile     string
	liveRate      float64
	identityRenew time.Duration
	logLevel      slog.Level
}

// parseFlags parses args into a config; --help prints the usage to stderr and returns
// flag.ErrHelp. now is the default end of the log's range.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	return parseFlagsAt(args, stderr, time.Now())
}

func parseFlagsAt(args []string, stderr io.Writer, now time.Time) (config, error) {
	var cfg config
	var from, to timeFlag
	mix := mixFlag{}
	fs := flag.NewFlagSet("teleport-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: teleport-sim --out DIR [flags]

teleport-sim simulates a Teleport Auth Service for auditpipe: it generates an audit log (with
session recordings) from a seed and serves it over mutual TLS through teleport/api's real
AuditLogService and AuthService (Ping, UpsertLock, GetLocks). It writes the client credentials
to --out (identity: an identity file as tctl auth sign writes; tls.crt, tls.key, tls.cas: a key
pair for client.LoadKeyPair), prints the address, writes --ready-file once serving, and stops
gracefully on SIGTERM or SIGINT.

Flags:
`)
		fs.PrintDefaults()
	}

	// Server.
	fs.StringVar(&cfg.server.ListenAddr, "listen", "127.0.0.1:3025", "TCP `address` to serve on (port 0 picks a free port)")
	fs.StringVar(&cfg.server.CredentialsDir, "out", "", "`directory` for the client credentials (required; created 0700)")
	fs.StringVar(&cfg.server.ClusterName, "cluster-name", teleportsim.DefaultClusterName, "cluster `name` answered by Ping and set as cluster_name on every event")
	fs.StringVar(&cfg.server.ServerVersion, "server-version", teleportsim.DefaultServerVersion, "Teleport `version` answered by Ping")
	fs.StringVar(&cfg.server.User, "user", teleportsim.DefaultUser, "`user` the client identity is issued to")
	fs.DurationVar(&cfg.server.IdentityTTL, "identity-ttl", teleportsim.DefaultIdentityTTL, "validity of the client certificates")
	fs.DurationVar(&cfg.identityRenew, "identity-renew", 0, "reissue the client credentials every `interval`, as tbot does (0: never)")
	fs.DurationVar(&cfg.server.DrainTimeout, "drain-timeout", teleportsim.DefaultDrainTimeout, "on stop, how long running calls may finish before they are cancelled")
	fs.StringVar(&cfg.readyFile, "ready-file", "", "write a JSON `file` {addr, cluster_name, identity, cert, key, ca, manifest} once serving")
	fs.StringVar(&cfg.manifest, "manifest", "", "write the manifest of every event to `file` (JSON lines; rewritten on stop when --live-rate > 0)")
	fs.TextVar(&cfg.logLevel, "log-level", slog.LevelInfo, "log `level`: debug (one record per RPC), info, warn, error")

	// Log.
	fs.Int64Var(&cfg.log.Seed, "seed", 1, "seed of the generated log: the same seed and flags give the same events")
	fs.IntVar(&cfg.log.Count, "count", 10000, "number of audit events generated up front")
	fs.Var(&from, "from", "start of the log's time range, RFC 3339 (default: 72h before --to)")
	fs.Var(&to, "to", "end of the log's time range (exclusive), RFC 3339 (default: now)")
	fs.Var(mix, "mix", "event types and weights, `type=weight,...` (default: a realistic mix; see teleportsim.DefaultMix)")
	fs.IntVar(&cfg.log.ChunkSize, "chunk-size", teleportsim.DefaultChunkSize, "largest number of events in one export chunk")
	fs.IntVar(&cfg.log.PageBytes, "page-bytes", teleportsim.MaxPageBytes, "byte budget of one search page")
	fs.IntVar(&cfg.log.IdenticalTimestamps, "identical-timestamps", 0, "`n` events of every UTC day share one timestamp")
	fs.BoolVar(&cfg.log.DayBoundaries, "day-boundaries", false, "place events at exactly every UTC midnight and 1ns before it")
	fs.BoolVar(&cfg.log.Unicode, "unicode", false, "draw names, commands and queries partly from non-ASCII text")
	fs.IntVar(&cfg.log.LargeEvents, "large-events", 0, "`n` events of hundreds of KiB")
	fs.IntVar(&cfg.log.HugeEvents, "huge-events", 0, "`n` events over 1 MiB (served alone on a search page)")
	fs.IntVar(&cfg.log.LateEvents, "late-events", 0, "`n` events hidden until --late-delay after the first query covering them (eventual consistency)")
	fs.DurationVar(&cfg.log.LateDelay, "late-delay", 0, "how long late events stay hidden")
	fs.BoolVar(&cfg.log.SingleEventChunks, "single-event-chunks", false, "give every day an export chunk holding a single event")
	fs.DurationVar(&cfg.log.RecordingDelay, "recording-delay", 0, "recordings answer NotFound until this long after their first request")
	fs.Float64Var(&cfg.log.RecordingDelayFraction, "recording-delay-fraction", 0, "share of sessions --recording-delay affects (0: all)")
	fs.DurationVar(&cfg.log.LiveFlush, "live-flush", teleportsim.DefaultLiveFlush, "age at which a live export chunk is sealed and listed")
	fs.Float64Var(&cfg.liveRate, "live-rate", 0, "generate `n` new events per second while serving (0: none)")

	// Faults.
	fs.DurationVar(&cfg.server.Faults.Latency, "latency", 0, "added before every RPC is answered")
	fs.Float64Var(&cfg.server.Faults.UnavailableRate, "unavailable-rate", 0, "fraction of RPCs failing with Unavailable")
	fs.Float64Var(&cfg.server.Faults.ResourceExhaustedRate, "resource-exhausted-rate", 0, "fraction of RPCs failing with ResourceExhausted")
	fs.IntVar(&cfg.server.Faults.UnavailableNext, "unavailable-next", 0, "the first `n` RPCs fail with Unavailable")
	fs.IntVar(&cfg.server.Faults.ResourceExhaustedNext, "resource-exhausted-next", 0, "the next `n` RPCs fail with ResourceExhausted")
	fs.IntVar(&cfg.server.Faults.StreamCutAfter, "stream-cut-after", 0, "end every server stream with Unavailable after `n` messages (0: never)")
	fs.BoolVar(&cfg.server.Faults.ExportNotImplemented, "export-not-implemented", false, "answer the export API with NotImplemented, as DynamoDB and file backends do")

	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	cfg.log.ClusterName = cfg.server.ClusterName
	cfg.log.From, cfg.log.To = from.t, to.t
	if cfg.log.To.IsZero() {
		cfg.log.To = now.UTC().Truncate(time.Second)
	}
	if cfg.log.From.IsZero() {
		cfg.log.From = cfg.log.To.Add(-defaultSpan)
	}
	if len(mix) > 0 {
		cfg.log.Mix = mix
	}
	if err := cfg.validate(); err != nil {
		return config{}, err
	}
	return cfg, nil
}

// validate checks what the Log and the Server do not check themselves.
func (c config) validate() error {
	var errs []error
	if c.server.CredentialsDir == "" {
		errs = append(errs, errors.New("missing --out"))
	}
	if c.liveRate < 0 {
		errs = append(errs, fmt.Errorf("--live-rate %v is negative", c.liveRate))
	}
	if c.identityRenew < 0 {
		errs = append(errs, fmt.Errorf("--identity-renew %v is negative", c.identityRenew))
	}
	if !c.log.From.Before(c.log.To) {
		errs = append(errs, fmt.Errorf("--from %s is not before --to %s", c.log.From.Format(time.RFC3339), c.log.To.Format(time.RFC3339)))
	}
	if err := c.server.Faults.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// timeFlag is an RFC 3339 time; the zero value means "not set".
type timeFlag struct{ t time.Time }

func (f *timeFlag) String() string {
	if f.t.IsZero() {
		return ""
	}
	return f.t.Format(time.RFC3339Nano)
}

func (f *timeFlag) Set(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("want RFC 3339, e.g. 2025-01-28T00:00:00Z: %w", err)
	}
	f.t = t.UTC()
	return nil
}

// mixFlag is --mix: event type → weight.
type mixFlag map[string]int

func (m mixFlag) String() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+strconv.Itoa(m[k]))
	}
	return strings.Join(parts, ",")
}

func (m mixFlag) Set(s string) error {
	for part := range strings.SplitSeq(s, ",") {
		name, weight, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || name == "" {
			return fmt.Errorf("%q is not type=weight", part)
		}
		w, err := strconv.Atoi(weight)
		if err != nil {
			return fmt.Errorf("weight of %s: %w", name, err)
		}
		m[name] = w
	}
	return nil
}
