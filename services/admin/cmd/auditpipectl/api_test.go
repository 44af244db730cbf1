package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/auditpipe/auditpipe/pkg/admin"
	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/logtest"
	"github.com/auditpipe/auditpipe/pkg/replicas"
	"github.com/auditpipe/auditpipe/pkg/stream"
	"github.com/auditpipe/auditpipe/pkg/testenv"
	"github.com/auditpipe/auditpipe/pkg/window"
)

// Tokens of every apiEnv's tokens file.
const (
	adminToken = "admin-tok-cli-0123456789"
	readToken  = "read-tok-cli-0123456789"
)

// apiEnv is the real admin API (package admin) over a real Redis and NATS, with the streams
// created, and the stores to arrange pipeline state with.
type apiEnv struct {
	t         *testing.T
	url       string
	cfg       *config.Config
	rdb       *redis.Client
	js        jetstream.JetStream
	store     *window.Store
	registry  *replicas.Registry
	tokenFile string // holds adminToken
	readFile  string // holds readToken
	// serverTokens is the server's admin.tokens-file: readToken, then adminToken.
	serverTokens string
	seq          uint64 // the last dead letter's original sequence
}

// newAPIEnv starts Redis, NATS (with the streams) and the API; opts change the API's
// configuration first.
func newAPIEnv(t *testing.T, opts ...func(*config.Config)) *apiEnv {
	t.Helper()
	r := testenv.Redis(t)
	n := testenv.NATS(t)
	js, err := jetstream.New(n.Conn(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg := config.Default()
	cfg.Redis.Addr = r.Addr
	cfg.Redis.KeyPrefix = r.Prefix
	cfg.NATS.URL = n.URL
	cfg.Shipper.Sinks = []string{config.SinkFluentd, config.SinkDatadog}
	cfg.Admin.TokensFile = write("tokens", "read "+readToken+"\nadmin "+adminToken+"\n")
	for _, o := range opts {
		o(cfg)
	}
	e := &apiEnv{t: t, cfg: cfg, rdb: r.Client(t), js: js,
		tokenFile: write("admin.token", adminToken+"\n"), readFile: write("read.token", readToken+"\n"),
		serverTokens: cfg.Admin.TokensFile}
	if err := stream.Ensure(t.Context(), js, e.streamOptions()); err != nil {
		t.Fatal(err)
	}
	e.registry = replicas.New(e.rdb, r.Prefix)
	srv, err := admin.New(cfg, admin.Deps{Redis: e.rdb, JetStream: js, Registry: e.registry,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	e.url = hs.URL
	wcfg := window.DefaultConfig()
	wcfg.KeyPrefix = r.Prefix
	wcfg.SettleGrace = 0 // a completed window is done, without a settle pass
	if e.store, err = window.New(e.rdb, wcfg); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *apiEnv) streamOptions() stream.Options {
	return stream.Options{Name: e.cfg.NATS.Stream, Replicas: 1, MaxAge: -1, DuplicateWindow: time.Hour,
		Storage: jetstream.MemoryStorage}
}

// env is the environment auditpipectl runs with: the API's URL, no token.
func (e *apiEnv) env() []string { return []string{"AUDITPIPE_ADMIN_URL=" + e.url} }

// ctl runs auditpipectl against the env's API with the admin token file.
func (e *apiEnv) ctl(args ...string) result {
	e.t.Helper()
	return ctl(e.t, e.env(), append([]string{"--token-file", e.tokenFile}, args...)...)
}

// client is an API client with the admin token, to check what a verb did.
func (e *apiEnv) client() *adminapi.Client {
	c, err := adminapi.NewClient(e.url, adminToken)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// putDeadLetter writes a dead letter of an audit event to sink and returns its id.
func (e *apiEnv) putDeadLetter(sink, typ, uid, reason string) uint64 {
	e.t.Helper()
	e.seq++ // the DLQ drops a second entry of the same sink and original sequence
	e.t.Helper()
	q, err := stream.NewDLQ(e.t.Context(), e.js, e.streamOptions())
	if err != nil {
		e.t.Fatal(err)
	}
	ev := event.Event{Kind: event.Audit, Type: typ, UID: uid, Time: time.Now().UTC(), Body: []byte(`{"event":"` + typ + `","uid":"` + uid + `"}`)}
	h := nats.Header{}
	h.Set(nats.MsgIdHdr, uid)
	h.Set(event.HeaderKind, string(ev.Kind))
	h.Set(event.HeaderType, typ)
	h.Set(event.HeaderUID, uid)
	h.Set(event.HeaderTime, ev.Time.Format(time.RFC3339Nano))
	id, err := q.Put(e.t.Context(), stream.DeadLetter{Sink: sink, Reason: reason, Attempts: 3,
		OriginalSubject: ev.Subject(), OriginalSeq: e.seq, Header: h, Body: ev.Body})
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// completeReplayWindow claims one window of any active replay, counts n events for it and
// completes it; false when nothing is claimable.
func (e *apiEnv) completeReplayWindow(n int64) bool {
	e.t.Helper()
	l, err := e.store.Claim(e.t.Context(), "test-ingest")
	if errors.Is(err, window.ErrNoWork) {
		return false
	}
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.AddReplayEvents(e.t.Context(), l.Window().ReplayID, n); err != nil {
		e.t.Fatal(err)
	}
	if err := l.Complete(e.t.Context()); err != nil {
		e.t.Fatal(err)
	}
	return true
}

var replayIDRe = regexp.MustCompile(`replay (\S+) started`)

func replayID(t *testing.T, out string) string {
	t.Helper()
	m := replayIDRe.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no replay id in:\n%s", out)
	}
	return m[1]
}

func TestStatus(t *testing.T) {
	e := newAPIEnv(t)
	ctx := t.Context()
	if _, err := e.store.InitEpoch(ctx, time.Now().Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	e.putDeadLetter("datadog", "user.login", "u-1", "400 Bad Request")
	status, _ := json.Marshal(adminapi.ShipperMember{Sinks: []string{"fluentd", "datadog"}, Blocked: []string{"datadog"},
		Delivered: map[string]int64{"fluentd": 12}})
	if err := e.registry.Beat(ctx, replicas.Replica{Service: replicas.ServiceShipper, ID: "shipper-7", Version: "v1.2.3",
		Started: time.Now().Add(-time.Hour), Status: status}, time.Minute); err != nil {
		t.Fatal(err)
	}

	e.ctl("status").want(t, 0, []string{
		"Ingest", "PAUSED since", "epoch 1 from",
		"Windows", "done 0/",
		"Stream", "TELEPORT_EVENTS: 0 messages",
		"Dead letters  1 (datadog 1)",
		"Replays", "0 active",
		"Consumers", "SINK", "ACK PENDING",
		"Replicas", "shipper  shipper-7  v1.2.3", "sinks fluentd,datadog, BLOCKED datadog, delivered fluentd 12",
	})

	// The search planner's watermark is shown in search mode only.
	if out := e.ctl("status").stdout; strings.Contains(out, "planned until") {
		t.Errorf("planned until shown before a mode was recorded:\n%s", out)
	}
	if _, err := e.store.RecordMode(ctx, 1, "search"); err != nil {
		t.Fatal(err)
	}
	e.ctl("status").want(t, 0, []string{"mode search", "planned until"})

	r := e.ctl("status", "-o", "json")
	r.want(t, 0, nil)
	var st adminapi.Status
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status -o json is not a Status: %v\n%s", err, r.stdout)
	}
	if !st.Ingest.Paused || st.Ingest.Epoch != 1 || st.DLQ.Total != 1 || len(st.Replicas["shipper"]) != 1 {
		t.Errorf("status -o json: %+v", st)
	}
	// The same document the API gives.
	if !strings.Contains(r.stdout, `"paused": true`) || !strings.Contains(r.stdout, `"by_sink"`) {
		t.Errorf("status -o json:\n%s", r.stdout)
	}
}

// Authentication failures print the API's message and exit 1; tokens are never printed.
func TestAuthFailures(t *testing.T) {
	e := newAPIEnv(t)
	ctl(t, e.env(), "status").want(t, 1, nil,
		"auditpipectl: credentials required: Authorization: Bearer <token> or a client certificate (401 unauthorized)")

	r := ctl(t, append(e.env(), "AUDITPIPE_ADMIN_TOKEN=wrong-token-secret"), "status")
	r.want(t, 1, nil, "auditpipectl: unknown bearer token (401 unauthorized)")
	if strings.Contains(r.stdout+r.stderr, "wrong-token-secret") {
		t.Error("the token was printed")
	}

	// A read token reads, and may not write.
	ctl(t, e.env(), "--token-file", e.readFile, "replays").want(t, 0, []string{"no replays"})
	r = ctl(t, e.env(), "--token-file", e.readFile, "pause")
	r.want(t, 1, nil, "auditpipectl: POST /v1/ingest/pause needs the admin scope", "(403 forbidden)")
	if strings.Contains(r.stdout+r.stderr, readToken) {
		t.Error("the token was printed")
	}
	if st, err := e.client().Status(t.Context()); err != nil || st.Ingest.Paused {
		t.Errorf("a forbidden pause paused ingest: %+v %v", st, err)
	}

	// The server's own tokens file works as --token-file (auditpipectl in the admin's
	// container): its admin token may write.
	ctl(t, e.env(), "--token-file", e.serverTokens, "pause").want(t, 0, []string{"ingest paused since"})
	ctl(t, e.env(), "--token-file", e.serverTokens, "resume").want(t, 0, []string{"ingest resumed"})

	// The token from the environment works too.
	ctl(t, append(e.env(), "AUDITPIPE_ADMIN_TOKEN="+adminToken), "pause").want(t, 0, []string{"ingest paused since"})
	// --server wins over AUDITPIPE_ADMIN_URL.
	ctl(t, []string{"AUDITPIPE_ADMIN_URL=http://127.0.0.1:1"}, "--server", e.url, "--token-file", e.tokenFile, "resume").
		want(t, 0, []string{"ingest resumed"})
}

func TestPauseResume(t *testing.T) {
	e := newAPIEnv(t)
	e.ctl("pause").want(t, 0, []string{"ingest paused since 20"})
	if paused, _, err := e.store.Paused(t.Context()); err != nil || !paused {
		t.Fatalf("after pause: paused %v, %v", paused, err)
	}
	e.ctl("status").want(t, 0, []string{"PAUSED since"})
	e.ctl("resume").want(t, 0, []string{"ingest resumed"})
	if paused, _, err := e.store.Paused(t.Context()); err != nil || paused {
		t.Fatalf("after resume: paused %v, %v", paused, err)
	}
	e.ctl("status").want(t, 0, []string{"Ingest        running"})
}

func TestResetStartTime(t *testing.T) {
	e := newAPIEnv(t)
	ctx := t.Context()
	if _, err := e.store.InitEpoch(ctx, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	to := time.Now().Add(-72 * time.Hour).UTC().Truncate(time.Second)

	e.ctl("reset-start-time", "--to", to.Format(time.RFC3339)).want(t, 1, nil, "Add --yes to do it")
	if ep, err := e.store.CurrentEpoch(ctx); err != nil || ep.Number != 1 {
		t.Fatalf("without --yes: epoch %+v, %v; want 1 unchanged", ep, err)
	}

	e.ctl("reset-start-time", "--to", to.Format(time.RFC3339), "--yes").
		want(t, 0, []string{"epoch 2 starts at " + to.Format(time.RFC3339)})
	ep, err := e.store.CurrentEpoch(ctx)
	if err != nil || ep.Number != 2 || !ep.Start.Equal(to) {
		t.Fatalf("with --yes: epoch %+v, %v; want 2 from %v", ep, err, to)
	}

	// A relative time, and the API's refusal of a future one.
	e.ctl("reset-start-time", "--to", "-1h", "--yes").want(t, 0, []string{"epoch 3 starts at"})
	e.ctl("reset-start-time", "--to", "+1h", "--yes").want(t, 1, nil, "(400 bad_request)")
}

func TestReplay(t *testing.T) {
	e := newAPIEnv(t)
	ctx := t.Context()

	// Create, list, cancel.
	r := e.ctl("replay", "--from", "-74h", "--to", "-2h", "--types", "user.login,session.start", "--sinks", "datadog")
	r.want(t, 0, []string{"started", "windows, sinks datadog, types user.login,session.start"})
	id := replayID(t, r.stdout)
	got, err := e.client().Replay(ctx, id)
	if err != nil || got.State != replayActive || got.WindowsTotal < 3 || len(got.Sinks) != 1 || len(got.Types) != 2 {
		t.Fatalf("replay %s: %+v, %v", id, got, err)
	}
	if d := got.To.Sub(got.From); d != 72*time.Hour {
		t.Errorf("replay range %v, want 72h", d)
	}
	e.ctl("replays").want(t, 0, []string{"ID", "STATE", id, "active", "datadog", "user.login,session.start"})
	r = e.ctl("replays", "-o", "json")
	var list adminapi.ReplayList
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list.Replays) != 1 || list.Replays[0].ID != id {
		t.Errorf("replays -o json: %v\n%s", err, r.stdout)
	}
	e.ctl("cancel", id).want(t, 0, []string{"replay " + id + " cancelled: 0/"})
	e.ctl("cancel", id).want(t, 0, []string{"replay " + id + " cancelled: 0/"}) // as it was
	e.ctl("cancel", "no-such-replay").want(t, 1, nil, "(404 not_found)")

	// The API's refusals come back as its messages.
	e.ctl("replay", "--from", "-1h", "--to", "+1h").want(t, 1, nil, "auditpipectl: ", "(400 bad_request)")
	// No guess about settle passes: the server tells when one is due once ingest read the
	// windows (TestReplayWaitSettles, TestReplaySettling).
	for _, to := range []string{"-1m", "-2h"} {
		if out := e.ctl("replay", "--from", "-3h", "--to", to).stdout; strings.Contains(out, "note:") || strings.Contains(out, "settle") {
			t.Errorf("replay --to %s guesses about the settle pass:\n%s", to, out)
		}
	}
}

// replay --wait shows progress until every window is done, then exits 0.
func TestReplayWaitDone(t *testing.T) {
	e := newAPIEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan result, 1)
	go func() {
		done <- runCtl(t, ctx, e.env(), nil, "--token-file", e.tokenFile,
			"replay", "--from", "-74h", "--to", "-2h", "--wait", "--interval", "20ms")
	}()
	// Ingest's part: claim and complete each window once the replay exists.
	var id string
	waitUntil(t, "the replay", func() bool {
		list, err := e.client().Replays(ctx)
		if err == nil && len(list.Replays) == 1 {
			id = list.Replays[0].ID
		}
		return id != ""
	})
	total := 0
	for e.completeReplayWindow(10) {
		total++
		time.Sleep(60 * time.Millisecond) // let the bar show progress
	}
	if total < 3 {
		t.Fatalf("completed %d windows, want at least 3", total)
	}
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		t.Fatal("replay --wait did not return")
	}
	wantWindows := itoa(total) + "/" + itoa(total)
	r.want(t, 0, []string{"replay " + id + " started", "replay " + id + " done: " + wantWindows + " windows, " + itoa(10*total) + " events, in "},
		wantWindows, "windows, "+itoa(10*total)+" events, done", "ETA")
	// A done replay cannot be cancelled.
	e.ctl("cancel", id).want(t, 1, nil, "auditpipectl: replay "+id+" is done already", "(409 conflict)")
}

// replay --wait exits 1 when the replay ends cancelled.
func TestReplayWaitCancelled(t *testing.T) {
	e := newAPIEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan result, 1)
	go func() {
		done <- runCtl(t, ctx, e.env(), nil, "--token-file", e.tokenFile,
			"replay", "--from", "-50h", "--to", "-2h", "--wait", "--interval", "20ms")
	}()
	var id string
	waitUntil(t, "the replay", func() bool {
		list, err := e.client().Replays(ctx)
		if err == nil && len(list.Replays) == 1 {
			id = list.Replays[0].ID
		}
		return id != ""
	})
	e.completeReplayWindow(5)
	if _, err := e.client().CancelReplay(ctx, id); err != nil {
		t.Fatal(err)
	}
	r := <-done
	r.want(t, 1, nil, "auditpipectl: replay "+id+" was cancelled (1/", "cancelled")
}

// replay --wait stops waiting on a signal (ctx), saying the replay goes on.
func TestReplayWaitInterrupted(t *testing.T) {
	e := newAPIEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan result, 1)
	progress := &logtest.Buffer{}
	go func() {
		done <- runCtl(t, ctx, e.env(), func(a *app) { a.stderr = io.MultiWriter(a.stderr, progress) },
			"--token-file", e.tokenFile, "replay", "--from", "-26h", "--to", "-2h", "--wait", "--interval", "20ms")
	}()
	waitUntil(t, "the progress bar", func() bool { return strings.Contains(progress.String(), "windows") })
	cancel()
	r := <-done
	r.want(t, 1, nil, "stopped waiting", "goes on", "auditpipectl cancel")
	list, err := e.client().Replays(t.Context())
	if err != nil || list.Replays[0].State != replayActive {
		t.Errorf("after the interrupt: %+v, %v; want the replay active", list, err)
	}
}

func TestDLQ(t *testing.T) {
	e := newAPIEnv(t)
	id1 := e.putDeadLetter("fluentd", "user.login", "uid-1", "400 Bad Request: unparsable")
	id2 := e.putDeadLetter("datadog", "session.start", "uid-2", "413 too large")
	id3 := e.putDeadLetter("fluentd", "user.login", "uid-3", "400 Bad Request: unparsable")

	e.ctl("dlq", "list").want(t, 0, []string{"ID", "SINK", "REASON", itoa(int(id1)), "uid-1", "uid-2", "uid-3",
		"teleport.audit.user.login", "413 too large"})
	r := e.ctl("dlq", "list", "--sink", "fluentd", "--limit", "1")
	r.want(t, 0, []string{"uid-1", "more: auditpipectl dlq list --after " + itoa(int(id1)) + " --sink fluentd --limit 1"})
	if strings.Contains(r.stdout, "uid-2") {
		t.Errorf("--sink fluentd lists a datadog entry:\n%s", r.stdout)
	}
	e.ctl("dlq", "list", "--sink", "fluentd", "--after", itoa(int(id1))).want(t, 0, []string{itoa(int(id3)), "uid-3"})

	r = e.ctl("dlq", "list", "--reason", "too large", "-o", "json")
	var page adminapi.DLQPage
	if err := json.Unmarshal([]byte(r.stdout), &page); err != nil || len(page.Entries) != 1 || page.Entries[0].ID != id2 {
		t.Fatalf("dlq list --reason -o json: %v\n%s", err, r.stdout)
	}
	if !strings.Contains(string(page.Entries[0].Body), "session.start") {
		t.Errorf("the entry's body: %s", page.Entries[0].Body)
	}

	// Redrive by id, to another sink: published again and deleted from the DLQ.
	e.ctl("dlq", "redrive", itoa(int(id2)), "--to-sink", "fluentd").
		want(t, 0, []string{"redriven " + itoa(int(id2)) + " -> teleport.redrive.fluentd.audit.session.start", "redriven 1 dead letters to fluentd"})
	// Redrive every fluentd entry, keeping them.
	e.ctl("dlq", "redrive", "--all", "--sink", "fluentd", "--keep").
		want(t, 0, []string{"redriven 2 dead letters to the sink that gave up on each"})
	page2, err := e.client().DLQ(t.Context(), adminapi.DLQQuery{})
	if err != nil || len(page2.Entries) != 2 {
		t.Fatalf("after the redrives the DLQ holds %+v, %v; want the 2 kept fluentd entries", page2, err)
	}
	s, err := e.js.Stream(t.Context(), e.cfg.NATS.Stream)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := s.Info(t.Context()); err != nil || info.State.Msgs != 3 {
		t.Errorf("events stream after 3 redrives: %+v, %v", info.State, err)
	}

	e.ctl("dlq", "delete", itoa(int(id1))).want(t, 0, []string{"deleted dead letter " + itoa(int(id1))})
	e.ctl("dlq", "delete", itoa(int(id1))).want(t, 1, nil, "(404 not_found)")
	e.ctl("dlq", "list").want(t, 0, []string{"uid-3"})
	e.ctl("dlq", "list", "--sink", "lock").want(t, 0, []string{"no dead letters"})
	e.ctl("dlq", "redrive", "999").want(t, 1, []string{"FAILED   999"}, "1 dead letters were not redriven")
}

// waitUntil polls cond every 10 ms for up to 10 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// --ca, --cert and --key reach an API served over TLS that authenticates client
// certificates (admin.tls), here with the certificates configure makes.
func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	// With the real clock: the certificates are used now.
	runCtl(t, context.Background(), nil, func(a *app) { a.resolver = fakeResolver{} },
		"configure", dir, "--cn", "127.0.0.1", "--dns-names", "").want(t, 0, nil)
	p := func(name string) string { return filepath.Join(dir, name) }
	r := testenv.Redis(t)
	n := testenv.NATS(t)
	js, err := jetstream.New(n.Conn(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Redis.KeyPrefix = r.Prefix
	cfg.Admin.TLS = config.ServerTLS{Cert: p("server.crt"), Key: p("server.key"), ClientCA: p("ca.crt")}
	srv, err := admin.New(cfg, admin.Deps{Redis: r.Client(t), JetStream: js, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, lis) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	server := "https://" + lis.Addr().String()

	ctl(t, nil, "--server", server, "--ca", p("ca.crt"), "--cert", p("client.crt"), "--key", p("client.key"), "pause").
		want(t, 0, []string{"ingest paused since"})
	// Without the client certificate: the API's 401.
	ctl(t, nil, "--server", server, "--ca", p("ca.crt"), "status").want(t, 1, nil, "(401 unauthorized)")
	// Without --ca the server is not trusted.
	ctl(t, nil, "--server", server, "status").want(t, 1, nil, "cannot reach the admin API at "+server, "certificate")
	ctl(t, nil, "--server", server, "--ca", p("ca.key"), "status").want(t, 1, nil, "--ca "+p("ca.key")+": no PEM certificate")
}
