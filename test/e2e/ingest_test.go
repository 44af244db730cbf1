package e2e

import (
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestIngestExactlyOnce exports a multi-day simulated log, with its session recordings, with
// two replicas until both exit on the last event, and checks that the stream holds every
// event once: 100,000 audit events in search mode (the simulator refuses the export API, as
// DynamoDB does), 20,000 in export mode (bulk export per UTC day and chunk). -short exports
// 20,000 in search mode only.
//
// The logs have pkg/ingest's realism switches (its realistic options) but one: runs of
// identical timestamps, events at and just before midnight, single-event chunks, large events
// and one over 1 MiB (which goes through the object store). Recordings missing at first are
// left to pkg/ingest, whose tests shorten the retry backoff; here the binary's default (30 s
// before the first retry) would only add waiting. The search run is make test's 100k-event
// proof of ingest; pkg/ingest proves the same property in-process, under -race, on smaller
// logs.
func TestIngestExactlyOnce(t *testing.T) {
	realistic := []string{"--identical-timestamps", "20", "--day-boundaries", "--single-event-chunks",
		"--large-events", "3", "--huge-events", "1"}
	tests := []struct {
		mode    string
		count   int
		simArgs []string
	}{
		{mode: "search", count: 100_000, simArgs: append([]string{"--export-not-implemented"}, realistic...)},
		{mode: "export", count: 20_000, simArgs: append([]string{"--chunk-size", "3000"}, realistic...)},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			if testing.Short() {
				if tt.mode != "search" {
					t.Skip("-short: search mode only")
				}
				tt.count = 20_000
			}
			e := newEnv(t, startSim(t, tt.count, tt.simArgs...))
			cfg := e.config(t, "")
			started := time.Now()
			a := startIngest(t, cfg, "replica-a", "--exit-on-last-event")
			b := startIngest(t, cfg, "replica-b", "--exit-on-last-event")
			waitExit0(t, 150*time.Second, a, b)
			took := time.Since(started)

			want := e.sim.want(t)
			exactlyOnce(t, e.jetStream(t), want)
			t.Logf("%d audit events and their recordings (%d events in all) exported by 2 replicas in %v: %.0f events/s",
				tt.count, len(want), took.Round(time.Millisecond), float64(len(want))/took.Seconds())
			for _, r := range []*ingest{a, b} {
				if !r.logged(`"mode":"` + tt.mode + `"`) {
					t.Errorf("%s did not log %s mode", r.name, tt.mode)
				}
				if !r.logged(`"msg":"exit-on-last-event: every event up to the start is exported"`) {
					t.Errorf("%s did not log why it exited", r.name)
				}
			}
		})
	}
}

// TestIngestReplicasLeave has three replicas export a log and, a quarter of the way, kills one
// with SIGKILL and stops another with SIGTERM. The stopped one must exit 0 within a few
// seconds, releasing its windows; the third must resume those at once, and the killed one's
// once their leases expire (30 s); the stream must hold every event once. Pages of 200 events
// make about seven pages per window, so that the two find windows with committed cursors,
// which the survivor must resume from. The survivor logs at debug level, where each claim shows
// the window's cursor and how many leases it has had.
func TestIngestReplicasLeave(t *testing.T) {
	e := newEnv(t, startSim(t, 30_000, "--export-not-implemented"))
	want := e.sim.want(t)
	js := e.jetStream(t)
	cfg := e.config(t, "")
	args := []string{"--exit-on-last-event", "--set", "batch=200"}
	killed := startIngest(t, cfg, "killed", args...)
	stopped := startIngest(t, cfg, "stopped", args...)
	survivor := startIngest(t, cfg, "survivor", append(args, "--set", "log.level=debug")...)

	ctx := streamCtx(t)
	var before uint64
	eventually(t, 60*time.Second, "a quarter of the events in the stream", func() bool {
		before = streamMsgs(ctx, t, js)
		return before >= uint64(len(want)/4)
	})
	killed.signal(syscall.SIGKILL)
	if code := killed.wait(t, 10*time.Second); code != -1 {
		t.Fatalf("killed exited with %d before SIGKILL ended it", code)
	}
	stopping := time.Now()
	stopped.signal(syscall.SIGTERM)
	if code := stopped.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("stopped exited with %d after SIGTERM, want 0", code)
	}
	t.Logf("with %d of %d events in the stream, killed one replica and stopped another in %v",
		before, len(want), time.Since(stopping).Round(time.Millisecond))
	if before >= uint64(len(want)) {
		t.Fatal("the stream was complete before the replicas left: nothing was in progress")
	}

	waitExit0(t, 120*time.Second, survivor)
	exactlyOnce(t, js, want)

	resumed := map[string]string{} // window → cursor the survivor resumed it from
	for _, r := range survivor.records(func(r map[string]any) bool {
		claims, _ := r["claims"].(float64)
		return r["msg"] == "window claimed" && claims > 1
	}) {
		w, _ := r["window"].(string)
		resumed[w], _ = r["cursor"].(string)
	}
	released := stopped.records(func(r map[string]any) bool { return r["msg"] == "window released" })
	if len(released) == 0 {
		t.Error("the stopped replica released no window")
	}
	for _, r := range released {
		w, _ := r["window"].(string)
		if _, ok := resumed[w]; !ok {
			t.Errorf("the survivor did not resume window %v, released by the stopped replica", r["window"])
		}
	}
	fromCursor := 0
	for _, cursor := range resumed {
		if cursor != "" {
			fromCursor++
		}
	}
	t.Logf("the survivor resumed %d windows the others held, %d of them from a committed cursor", len(resumed), fromCursor)
	if fromCursor == 0 {
		t.Fatal("the survivor resumed no window from a cursor another replica committed")
	}
}

// TestIngestServiceLifecycle runs one replica following a live log (search windows, export
// chunks: whatever the probe finds) whose identity the simulator re-issues every 5 s with a
// 20 s lifetime, as tbot does, and checks the service around it: /healthz, /readyz and
// /metrics; SIGHUP reloads the identity; the replica stays ready and keeps publishing past the
// first certificate's expiry; SIGTERM stops it with exit 0 within a few seconds.
func TestIngestServiceLifecycle(t *testing.T) {
	e := newEnv(t, startSim(t, 2_000, "--live-rate", "20", "--identity-ttl", "20s", "--identity-renew", "5s"))
	cfg := e.config(t, "")
	in := startIngest(t, cfg, "replica", "--set", "teleport.refresh.enabled=true", "--set", "teleport.refresh.interval=1s")

	eventually(t, 60*time.Second, "/readyz 200", func() bool {
		code, _ := in.get("/readyz")
		return code == http.StatusOK
	})
	if code, body := in.get("/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	eventually(t, 30*time.Second, "events published", func() bool {
		return in.metric(t, "auditpipe_ingest_events_published_total") > 0
	})
	_, body := in.get("/metrics")
	for _, name := range []string{"auditpipe_ingest_events_read_total", "auditpipe_ingest_events_published_total",
		"auditpipe_ingest_windows", "auditpipe_ingest_lag_seconds", "auditpipe_teleport_connected 1",
		"auditpipe_teleport_cert_expiry_timestamp_seconds", "go_goroutines", "process_cpu_seconds_total"} {
		if !strings.Contains(body, "\n"+name) {
			t.Errorf("/metrics has no %s", name)
		}
	}
	// The expiry of the certificate in use now; the simulator renews it every 5 s.
	firstExpiry := time.Unix(int64(in.metric(t, "auditpipe_teleport_cert_expiry_timestamp_seconds")), 0)

	in.signal(syscall.SIGHUP)
	eventually(t, 10*time.Second, "the SIGHUP reload logged", func() bool {
		return in.logged("SIGHUP: reloaded the Teleport credentials")
	})

	// Past that expiry the replica holds a renewed certificate, so it is still ready (the
	// teleport check fails on an expired one) and still publishing.
	time.Sleep(time.Until(firstExpiry.Add(time.Second)))
	published := in.metric(t, "auditpipe_ingest_events_published_total")
	eventually(t, 20*time.Second, "events published after the first certificate expired", func() bool {
		return in.metric(t, "auditpipe_ingest_events_published_total") > published
	})
	if code, body := in.get("/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz after the first certificate expired: %d %s", code, body)
	}
	if exp := time.Unix(int64(in.metric(t, "auditpipe_teleport_cert_expiry_timestamp_seconds")), 0); !exp.After(firstExpiry) {
		t.Fatalf("certificate expiry %v did not move past the first one, %v", exp, firstExpiry)
	}
	if n := in.metric(t, "auditpipe_teleport_credential_reloads_total", `result="ok"`); n < 2 {
		t.Fatalf("%v successful credential reloads, want several", n)
	}
	if n := in.metric(t, "auditpipe_teleport_credential_reloads_total", `result="error"`); n > 0 {
		t.Errorf("%v failed credential reloads", n)
	}

	stopped := time.Now()
	in.signal(syscall.SIGTERM)
	if code := in.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	took := time.Since(stopped)
	t.Logf("stopped %v after SIGTERM", took.Round(time.Millisecond))
	if took > 10*time.Second {
		t.Errorf("stopping took %v, want a few seconds", took)
	}
	if !in.logged(`"msg":"auditpipe-ingest stopped"`) {
		t.Error("no clean stop logged")
	}
}
