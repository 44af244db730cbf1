// Package metrics keeps auditpipe's monitoring true: it runs the three services in this
// process, wired as their binaries wire them, over a real Redis, a real NATS JetStream,
// teleport-sim and fake Fluentd and Datadog peers, and checks what their registries export
// against the metrics reference (docs/metrics.md, both ways), the alerting rules and the
// Grafana dashboard (deploy/helm/auditpipe/monitoring): every metric and label they use
// must be exported.
package metrics

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/auditpipe/auditpipe/pkg/admin"
	"github.com/auditpipe/auditpipe/pkg/clients"
	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/health"
	"github.com/auditpipe/auditpipe/pkg/ingest"
	"github.com/auditpipe/auditpipe/pkg/replicas"
	"github.com/auditpipe/auditpipe/pkg/service"
	"github.com/auditpipe/auditpipe/pkg/shipper"
	"github.com/auditpipe/auditpipe/pkg/sink/datadog"
	"github.com/auditpipe/auditpipe/pkg/sink/datadog/datadogtest"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd/fluentdtest"
	"github.com/auditpipe/auditpipe/pkg/sink/lock"
	"github.com/auditpipe/auditpipe/pkg/stream"
	"github.com/auditpipe/auditpipe/pkg/teleportsim"
	"github.com/auditpipe/auditpipe/pkg/teleportsrc"
	"github.com/auditpipe/auditpipe/pkg/testenv"
)

// The services, as docs/metrics.md names them.
const (
	svcIngest  = "ingest"
	svcShipper = "shipper"
	svcAdmin   = "admin"
)

var services = []string{svcIngest, svcShipper, svcAdmin}

// family is one metric family a service exports.
type family struct {
	name   string
	typ    string   // counter, gauge, histogram, summary
	labels []string // its own labels, sorted; not the target labels Prometheus adds
}

// recorder is a service's registry (service.NewRegistry, as every binary makes) that also
// keeps every collector registered on it, so that the metrics of a vector that has no child
// yet (an error counter before the first error) are known too: Gather leaves them out.
type recorder struct {
	*prometheus.Registry
	mu         sync.Mutex
	collectors []prometheus.Collector
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	reg, err := service.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	return &recorder{Registry: reg}
}

func (r *recorder) Register(c prometheus.Collector) error {
	if err := r.Registry.Register(c); err != nil {
		return err // AlreadyRegisteredError: the first one is recorded
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.collectors = append(r.collectors, c)
	return nil
}

func (r *recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// families returns what the service exports, by name: every auditpipe_* metric registered,
// with its labels from its descriptor and its type from a scrape (gathered) or, for a
// vector without children, from the vector's Go type.
func (r *recorder) families(t *testing.T, gathered map[string]*dto.MetricFamily) map[string]family {
	t.Helper()
	r.mu.Lock()
	collectors := append([]prometheus.Collector(nil), r.collectors...)
	r.mu.Unlock()
	out := map[string]family{}
	for _, c := range collectors {
		descs := make(chan *prometheus.Desc, 64)
		go func() {
			c.Describe(descs)
			close(descs)
		}()
		for d := range descs {
			name, labels, err := parseDesc(d.String())
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(name, "auditpipe_") {
				continue
			}
			f := family{name: name, labels: labels}
			switch {
			case gathered[name] != nil:
				f.typ = strings.ToLower(gathered[name].GetType().String())
			default:
				f.typ = vectorType(c)
			}
			if f.typ == "" {
				t.Fatalf("%s: no sample and not a vector: cannot tell its type", name)
			}
			out[name] = f
		}
	}
	return out
}

// vectorType is the metric type of a vector collector, "" for other collectors.
func vectorType(c prometheus.Collector) string {
	switch c.(type) {
	case *prometheus.CounterVec:
		return "counter"
	case *prometheus.GaugeVec:
		return "gauge"
	case *prometheus.HistogramVec:
		return "histogram"
	case *prometheus.SummaryVec:
		return "summary"
	}
	return ""
}

// parseDesc reads the name and the labels (variable and constant) out of a Desc's String,
// the only place client_golang shows them:
// Desc{fqName: "x", help: "…", constLabels: {a="b"}, variableLabels: {c,d}}.
func parseDesc(s string) (string, []string, error) {
	rest, ok := strings.CutPrefix(s, `Desc{fqName: `)
	if !ok {
		return "", nil, fmt.Errorf("descriptor %q: unknown format", s)
	}
	quoted, err := strconv.QuotedPrefix(rest)
	if err != nil {
		return "", nil, fmt.Errorf("descriptor %q: %w", s, err)
	}
	name, _ := strconv.Unquote(quoted)
	i := strings.LastIndex(s, ", variableLabels: {")
	j := strings.LastIndex(s, ", constLabels: {")
	if i < 0 || j < 0 || !strings.HasSuffix(s, "}}") {
		return "", nil, fmt.Errorf("descriptor %q: unknown format", s)
	}
	var labels []string
	for _, l := range strings.Split(s[i+len(", variableLabels: {"):len(s)-2], ",") {
		if l = strings.TrimSuffix(strings.TrimPrefix(l, "c("), ")"); l != "" {
			labels = append(labels, l)
		}
	}
	for _, pair := range strings.Split(s[j+len(", constLabels: {"):i-1], ",") {
		if k, _, ok := strings.Cut(pair, "="); ok {
			labels = append(labels, k)
		}
	}
	slices.Sort(labels)
	return name, labels, nil
}

// svc is one service running in the test: its registry and its /metrics.
type svc struct {
	name string
	reg  *recorder
	url  string // the health server's base URL
}

// scrape fetches /metrics as Prometheus does and parses it.
func (s *svc) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatalf("%s: /metrics: %v", s.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s: /metrics: %s\n%s", s.name, resp.Status, body)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("%s: /metrics: %v", s.name, err)
	}
	return families
}

// pipeline is auditpipe-ingest, auditpipe-shipper (serving every sink: fluentd, datadog and
// lock) and auditpipe-admin, each with its own registry and health server, as separate
// processes would have, built the way services/*/main.go and deps.go build them.
type pipeline struct {
	svcs    map[string]*svc
	fluentd *fluentdtest.Server
	datadog *datadogtest.Intake
	admin   string // the admin API's URL
}

// logger discards the services' logs unless -v.
func logger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(testWriter{}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type testWriter struct{}

func (testWriter) Write(p []byte) (int, error) { fmt.Print(string(p)); return len(p), nil }

// startPipeline starts everything and returns once the sinks have delivered events; it all
// stops at the test's cleanup.
func startPipeline(t *testing.T) *pipeline {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	run := func(name string, fn func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, context.Canceled) {
				t.Errorf("%s: %v", name, err)
			}
		}()
	}
	log := logger()

	rs, ns := testenv.Redis(t), testenv.NATS(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	simLog, err := teleportsim.NewLog(teleportsim.Options{Seed: 1, Count: 300, From: now.Add(-2 * time.Hour), To: now})
	if err != nil {
		t.Fatal(err)
	}
	sim, err := teleportsim.NewServer(teleportsim.ServerConfig{Log: simLog, CredentialsDir: filepath.Join(t.TempDir(), "teleport"),
		ListenAddr: "127.0.0.1:0", IdentityTTL: 7 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	run("teleport-sim", sim.Run)
	p := &pipeline{svcs: map[string]*svc{}, fluentd: fluentdtest.New(t), datadog: datadogtest.New(t)}

	cfg := config.Default()
	cfg.StartTime = now.Add(-2 * time.Hour)
	cfg.Timeout = time.Second
	cfg.Batch = 200
	cfg.Teleport.Addr = sim.Addr()
	cfg.Teleport.Identity = sim.Credentials().Identity
	cfg.Redis = config.Redis{Addr: rs.Addr, KeyPrefix: rs.Prefix}
	cfg.NATS.URL = ns.URL
	cfg.Forward.Fluentd = p.fluentd.Config()
	cfg.Forward.Datadog = p.datadog.Config(t)
	cfg.Shipper.Sinks = []string{config.SinkFluentd, config.SinkDatadog, config.SinkLock}
	cfg.Admin.InsecureNoAuth = true
	cfg.Metrics.Listen = "" // each service's health server is an httptest server below
	for _, s := range []config.Service{config.ServiceIngest, config.ServiceShipper, config.ServiceAdmin} {
		if err := cfg.ValidateFor(s); err != nil {
			t.Fatalf("the %s configuration: %v", s, err)
		}
	}

	// Each service: its registry, its health server, Redis and NATS clients of its own.
	newSvc := func(name string) *svc {
		s := &svc{name: name, reg: newRecorder(t)}
		hs := httptest.NewServer(health.NewServer(s.reg).Handler())
		t.Cleanup(hs.Close)
		s.url = hs.URL
		p.svcs[name] = s
		return s
	}
	redisClient := func() *replicas.Registry {
		rdb, err := clients.Redis(cfg.Redis)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = rdb.Close() })
		return replicas.New(rdb, cfg.Redis.KeyPrefix)
	}
	jetStream := func(name string, opts ...jetstream.JetStreamOpt) jetstream.JetStream {
		nc, err := clients.NATS(cfg.NATS, name, log)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		js, err := jetstream.New(nc, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return js
	}
	teleport := func(reg prometheus.Registerer) *teleportsrc.Client {
		connectCtx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		tc, err := teleportsrc.New(connectCtx, cfg.Teleport, teleportsrc.WithLogger(log), teleportsrc.WithRegisterer(reg))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tc.Close() })
		return tc
	}
	beat := func(reg *replicas.Registry, service, id string, status func() any) {
		run(id+" beats", func(ctx context.Context) error {
			return reg.Run(ctx, replicas.Replica{Service: service, ID: id, Version: "test"}, time.Second, status, func(error) {})
		})
	}
	shipCfg := shipper.FromConfig(cfg)
	if err := stream.Ensure(ctx, jetStream("setup"), shipCfg.Stream); err != nil {
		t.Fatal(err)
	}

	// auditpipe-ingest (services/ingest: connect, then ingest.New).
	in := newSvc(svcIngest)
	ingestCfg := ingest.FromConfig(cfg, "metrics-ingest")
	inRegistry := redisClient()
	inRedis, err := clients.Redis(cfg.Redis)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = inRedis.Close() })
	eng, err := ingest.New(ingestCfg, ingest.Deps{Source: teleport(in.reg), Redis: inRedis,
		JetStream:  jetStream("auditpipe-ingest", jetstream.WithPublishAsyncMaxPending(ingestCfg.MaxPending)),
		Registerer: in.reg, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	run("ingest", eng.Run)
	beat(inRegistry, replicas.ServiceIngest, "metrics-ingest", func() any { return eng.Status().Member() })

	// auditpipe-shipper (services/shipper: connect builds the sinks, then shipper.New).
	sh := newSvc(svcShipper)
	fl, err := fluentd.New(cfg.Forward.Fluentd, fluentd.WithRegisterer(sh.reg), fluentd.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fl.Close)
	dd, err := datadog.New(cfg.Forward.Datadog, datadog.WithRegisterer(sh.reg), datadog.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	lockRedis, err := clients.Redis(cfg.Redis)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lockRedis.Close() })
	lk, err := lock.New(lockRedis, teleport(sh.reg), lock.ConfigFrom(cfg), lock.WithRegisterer(sh.reg), lock.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	login := event.Event{Kind: event.Audit, Type: "user.login"}
	ship, err := shipper.New(shipCfg, []shipper.Target{
		{Sink: fl, Batch: cfg.Forward.Fluentd.Batch},
		{Sink: dd, Batch: cmp.Or(cfg.Forward.Datadog.Batch, datadog.MaxItems)},
		{Sink: lk, Batch: 100, Subjects: []string{login.Subject()}},
	}, shipper.Deps{JetStream: jetStream("auditpipe-shipper"), Registerer: sh.reg, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	run("shipper", ship.Run)
	beat(redisClient(), replicas.ServiceShipper, "metrics-shipper", func() any { return shipper.Member(ship.Status()) })

	// auditpipe-admin (services/admin: connect, then admin.New).
	ad := newSvc(svcAdmin)
	adRedis, err := clients.Redis(cfg.Redis)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = adRedis.Close() })
	adRegistry := redisClient()
	srv, err := admin.New(cfg, admin.Deps{Redis: adRedis, JetStream: jetStream("auditpipe-admin"), Registry: adRegistry,
		Registerer: ad.reg, Gatherer: ad.reg, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	api := httptest.NewServer(srv.Handler())
	t.Cleanup(api.Close)
	p.admin = api.URL
	beat(adRegistry, replicas.ServiceAdmin, "metrics-admin", nil)

	// Cleanups run last registered first: the engines stop before their clients close.
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})

	// Events flow to both HTTP sinks, and the admin API answers a request.
	deadline := time.Now().Add(2 * time.Minute)
	for p.fluentd.Accepted() == 0 || p.datadog.Accepted() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no events delivered within 2 minutes: fluentd %d, datadog %d", p.fluentd.Accepted(), p.datadog.Accepted())
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, err := http.Get(p.admin + "/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return p
}
