package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/teleportsim"
	"github.com/auditpipe/auditpipe/pkg/testenv"
)

// (a) Events reach the receiver within seconds of Start: the historical log first, then live
// events; the admin API answers with every replica listed. The admin address asked for is
// taken, so the API moves to a free port and says so.
func TestEventsArriveWithinSeconds(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	began := time.Now()
	p := startPipeline(t, Options{Events: 1000, Rate: 20, Shippers: 2, AdminListen: taken.Addr().String()})

	first := eventually(t, p, 15*time.Second, "the first event at the receiver", func() bool { return p.recv.counts().Total > 0 }, nil)
	t.Logf("first event %v after Start returned (%v after it was called)", first.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))

	hist := historical(p)
	if len(hist) < 1000 {
		t.Fatalf("the simulated log holds %d audit events; want at least 1000", len(hist))
	}
	eventually(t, p, 60*time.Second, "every historical event once", func() bool { return all(p, hist, 1) }, describeTally(p, hist))
	after := time.Now()
	eventually(t, p, 20*time.Second, "a live event made after the backfill", func() bool {
		evs := live(p, after)
		return len(evs) > 0 && tally(p, evs)[0] < len(evs)
	}, nil)

	if notes := strings.Join(p.Notes(), "\n"); !strings.Contains(notes, taken.Addr().String()+" is taken") {
		t.Errorf("notes = %q; want one saying %s is taken", notes, taken.Addr())
	}
	if strings.Contains(p.AdminURL(), taken.Addr().String()) {
		t.Errorf("AdminURL %s is the taken address", p.AdminURL())
	}
	resp, err := http.Get(p.AdminURL() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /readyz = %d; want 200", resp.StatusCode)
	}

	c := client(t, p)
	var st *adminapi.Status
	eventually(t, p, 10*time.Second, "every replica in /v1/status", func() bool {
		if st, err = c.Status(testCtx(t)); err != nil {
			t.Fatalf("GET /v1/status: %v", err)
		}
		return len(st.Replicas["ingest"]) == 1 && len(st.Replicas["shipper"]) == 2 && len(st.Replicas["admin"]) == 1
	}, func() string { return "replicas " + strings.Join(memberIDs(st), ", ") })
	if st.Ingest.Mode != "export" || st.Ingest.Epoch != 1 || st.Stream.Messages < uint64(len(hist)) {
		t.Errorf("status: mode %q epoch %d stream %d messages; want export, 1, at least %d", st.Ingest.Mode, st.Ingest.Epoch, st.Stream.Messages, len(hist))
	}
	if len(st.Consumers) != 1 || st.Consumers[0].Name != "sink-fluentd" {
		t.Errorf("consumers = %+v; want sink-fluentd", st.Consumers)
	}
	if got := p.Received(); got["kube.request"] == 0 {
		t.Errorf("Received() = %v; want kube.request among them", got)
	}
	// An unauthenticated caller is refused: the token is what lets auditpipectl in.
	if _, err := mustClient(t, p.AdminURL(), "").Status(testCtx(t)); !isStatus(err, http.StatusUnauthorized) {
		t.Errorf("status without a token: %v; want 401", err)
	}
}

// (b) A replay of 3 days already delivered delivers them again: the receiver counts each
// event of the range twice, and no more. A second replay of the same range, cancelled while
// the simulated Teleport answers slowly, stops: its windows stop completing, and fewer events
// than the range holds arrive a third time.
//
// The range ends an hour before the historical log does: a replay window that ends less than
// the settle grace (10 min) ago gets a settle pass that late, and the replay is done only then.
func TestReplayDeliversAgainAndCancelStops(t *testing.T) {
	t.Parallel()
	// No live events: the stream grows only by the replays, so that "quiet" is well defined.
	p := startPipeline(t, Options{Events: 1500, History: 73 * time.Hour, Rate: -1})
	from, to := p.logTo.Add(-73*time.Hour), p.logTo.Add(-time.Hour)
	all3d := historical(p)
	hist := between(all3d, from, to)
	eventually(t, p, 60*time.Second, "every historical event once", func() bool { return all(p, all3d, 1) }, describeTally(p, all3d))

	c := client(t, p)
	ctx := testCtx(t)
	rp, err := c.CreateReplay(ctx, adminapi.ReplayRequest{From: from, To: to})
	if err != nil {
		t.Fatalf("POST /v1/replays: %v", err)
	}
	if rp.State != "active" || rp.WindowsTotal != 72 {
		t.Fatalf("replay = %+v; want active with 72 windows of an hour", rp)
	}
	took := eventually(t, p, 60*time.Second, "the replay delivers every event of the range a second time",
		func() bool { return all(p, hist, 2) }, describeTally(p, hist))
	eventually(t, p, 20*time.Second, "the replay done", func() bool {
		rp, err = c.Replay(ctx, rp.ID)
		return err == nil && rp.State == "done"
	}, func() string { return fmt.Sprintf("%+v", rp) })
	t.Logf("replay of %d windows delivered %d events again in %v (%d events published)", rp.WindowsTotal, len(hist), took.Round(time.Millisecond), rp.Events)
	if rp.Events < int64(len(hist)) {
		t.Errorf("the replay counts %d events; want at least %d", rp.Events, len(hist))
	}
	time.Sleep(time.Second)
	if !all(p, hist, 2) {
		t.Fatalf("after the replay: %s; want every one twice", describeTally(p, hist)())
	}
	if outside := append(between(all3d, time.Time{}, from), between(all3d, to, p.logTo)...); !all(p, outside, 1) {
		t.Errorf("events outside the replayed range: %s; want each once", describeTally(p, outside)())
	}

	// The second replay, slowed down: every Teleport call takes 300 ms.
	if err := p.sim.SetFaults(teleportsim.Faults{Latency: 300 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	rp2, err := c.CreateReplay(ctx, adminapi.ReplayRequest{From: from, To: to})
	if err != nil {
		t.Fatalf("POST /v1/replays: %v", err)
	}
	eventually(t, p, 30*time.Second, "the second replay under way", func() bool {
		rp2, err = c.Replay(ctx, rp2.ID)
		return err == nil && rp2.WindowsDone > 0
	}, nil)
	cancelled, err := c.CancelReplay(ctx, rp2.ID)
	if err != nil {
		t.Fatalf("DELETE /v1/replays/%s: %v", rp2.ID, err)
	}
	if cancelled.State != "cancelled" {
		t.Fatalf("cancelled replay = %+v; want state cancelled", cancelled)
	}
	// Pages fetched before the cancel may still be published and shipped; then nothing moves,
	// not even once Teleport answers fast again.
	done1, events1, third1 := quietProgress(t, p, c, rp2.ID, hist)
	if err := p.sim.SetFaults(teleportsim.Faults{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	done2, events2, third2 := quietProgress(t, p, c, rp2.ID, hist)
	t.Logf("cancelled replay: %d of %d windows done, %d events published; %d of %d events delivered a third time",
		done2, cancelled.WindowsTotal, events2, third2, len(hist))
	if done2 != done1 || events2 != events1 || third2 != third1 {
		t.Errorf("after the cancel the replay went on: windows done %d → %d, events published %d → %d, delivered a third time %d → %d",
			done1, done2, events1, events2, third1, third2)
	}
	if done2 >= cancelled.WindowsTotal || third2 >= len(hist) {
		t.Errorf("the cancelled replay finished: %d of %d windows, %d of %d events", done2, cancelled.WindowsTotal, third2, len(hist))
	}
	if n := tally(p, hist); n[0]+n[1] > 0 || n[4] > 0 {
		t.Errorf("deliveries after both replays: %v; want each event 2 or 3 times", n)
	}
}

// quietProgress waits until the pipeline is quiet (the stream no longer grows and the
// fluentd consumer has nothing pending or unacknowledged), then returns a cancelled replay's
// windows done and events published, and how many of entries arrived at least three times.
func quietProgress(t *testing.T, p *Pipeline, c *adminapi.Client, id string, entries []entry) (done, events int64, third int) {
	t.Helper()
	var last uint64
	var st *adminapi.Status
	eventually(t, p, 30*time.Second, "a quiet pipeline", func() bool {
		var err error
		if st, err = c.Status(testCtx(t)); err != nil {
			t.Fatalf("GET /v1/status: %v", err)
		}
		prev := last
		last = st.Stream.LastSeq
		quiet := prev == last && len(st.Consumers) == 1 && st.Consumers[0].Pending == 0 && st.Consumers[0].AckPending == 0
		if !quiet {
			time.Sleep(500 * time.Millisecond)
		}
		return quiet
	}, func() string { return fmt.Sprintf("stream %+v, consumers %+v", st.Stream, st.Consumers) })
	rp, err := c.Replay(testCtx(t), id)
	if err != nil {
		t.Fatalf("GET /v1/replays/%s: %v", id, err)
	}
	if rp.State != "cancelled" {
		t.Fatalf("replay %s is %s; want cancelled", id, rp.State)
	}
	for n, count := range tally(p, entries) {
		if n >= 3 {
			third += count
		}
	}
	return rp.WindowsDone, rp.Events, third
}

// (c) A start-time reset to an earlier time exports from the new time: the events between the
// new and the old start arrive, those before the new start do not, those after the old start
// are not delivered again, and new live events keep arriving.
func TestStartTimeReset(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, Options{Events: 1500, History: 72 * time.Hour, Since: 24 * time.Hour, Rate: 10})
	hist := historical(p)
	oldStart := p.StartTime()
	newStart := oldStart.Add(-24 * time.Hour)
	before, middle, after := between(hist, time.Time{}, newStart), between(hist, newStart, oldStart), between(hist, oldStart, p.logTo)
	if len(before) == 0 || len(middle) == 0 || len(after) == 0 {
		t.Fatalf("events before/between/after the starts: %d/%d/%d; want some of each", len(before), len(middle), len(after))
	}
	eventually(t, p, 60*time.Second, "every event since the start once", func() bool { return all(p, after, 1) }, describeTally(p, after))
	if !all(p, middle, 0) || !all(p, before, 0) {
		t.Fatalf("events before the start arrived: %s; %s", describeTally(p, middle)(), describeTally(p, before)())
	}

	c := client(t, p)
	res, err := c.ResetStartTime(testCtx(t), adminapi.StartTimeRequest{StartTime: newStart, Confirm: true})
	if err != nil {
		t.Fatalf("PUT /v1/start-time: %v", err)
	}
	reset := time.Now()
	if res.Epoch != 2 || !res.StartTime.Equal(newStart) {
		t.Fatalf("reset = %+v; want epoch 2 from %v", res, newStart)
	}
	took := eventually(t, p, 60*time.Second, "the events between the new and the old start", func() bool { return all(p, middle, 1) }, describeTally(p, middle))
	t.Logf("%d events between the new and the old start arrived %v after the reset", len(middle), took.Round(time.Millisecond))
	eventually(t, p, 20*time.Second, "a live event made after the reset", func() bool {
		evs := live(p, reset)
		return len(evs) > 0 && tally(p, evs)[0] < len(evs)
	}, nil)
	time.Sleep(time.Second)
	if !all(p, before, 0) {
		t.Errorf("events before the new start: %s; want none delivered", describeTally(p, before)())
	}
	if !all(p, middle, 1) || !all(p, after, 1) {
		t.Errorf("after the reset: between the starts %s; since the old start %s; want each once",
			describeTally(p, middle)(), describeTally(p, after)())
	}
	st, err := c.Status(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if st.Ingest.Epoch != 2 || !st.Ingest.StartTime.Equal(newStart) {
		t.Errorf("status: epoch %d from %v; want 2 from %v", st.Ingest.Epoch, st.Ingest.StartTime, newStart)
	}
}

// (d) DLQ redrive: while the receiver refuses user.login events, the requests holding one are
// rejected (400) and their events dead-lettered, listed by GET /v1/dlq and never delivered;
// once the receiver accepts again, POST /v1/dlq/redrive delivers each of them exactly once and
// empties the DLQ.
func TestDLQRedrive(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, Options{Events: 300, Rate: 40})
	hist := historical(p)
	eventually(t, p, 60*time.Second, "every historical event once", func() bool { return all(p, hist, 1) }, describeTally(p, hist))

	c := client(t, p)
	ctx := testCtx(t)
	p.recv.rejectTypes("user.login")
	eventually(t, p, 30*time.Second, "a dead-lettered user.login event", func() bool {
		for _, d := range deadLetters(t, c) {
			if d.EventType == "user.login" {
				return true
			}
		}
		return false
	}, nil)
	p.recv.rejectTypes()
	// Batches refused just before are dead-lettered just after: wait until the DLQ is still.
	var dead []adminapi.DeadLetter
	eventually(t, p, 20*time.Second, "a still DLQ", func() bool {
		prev := len(dead)
		dead = deadLetters(t, c)
		time.Sleep(500 * time.Millisecond)
		return len(dead) == prev
	}, nil)

	var ids []uint64
	var entries []entry
	for _, d := range dead {
		if d.Sink != "fluentd" || !strings.HasPrefix(d.OriginalSubject, "teleport.audit.") || d.EventID == "" {
			t.Errorf("dead letter %d: sink %q subject %q uid %q; want a fluentd audit event with its uid", d.ID, d.Sink, d.OriginalSubject, d.EventID)
		}
		if !strings.Contains(d.Reason, "400") {
			t.Errorf("dead letter %d: reason %q; want the receiver's 400", d.ID, d.Reason)
		}
		ids = append(ids, d.ID)
		entries = append(entries, entry{uid: d.EventID, typ: d.EventType})
	}
	if !all(p, entries, 0) {
		t.Fatalf("dead-lettered events were delivered: %s", describeTally(p, entries)())
	}
	res, err := c.Redrive(ctx, adminapi.RedriveRequest{IDs: ids})
	if err != nil {
		t.Fatalf("POST /v1/dlq/redrive: %v", err)
	}
	if len(res.Redriven) != len(ids) || len(res.Failed) > 0 {
		t.Fatalf("redrive of %d: %d redriven, failed %+v", len(ids), len(res.Redriven), res.Failed)
	}
	took := eventually(t, p, 30*time.Second, "the redriven events delivered", func() bool { return all(p, entries, 1) }, describeTally(p, entries))
	t.Logf("%d dead letters (%d user.login) redriven and delivered in %v", len(entries), countType(entries, "user.login"), took.Round(time.Millisecond))
	time.Sleep(time.Second)
	if !all(p, entries, 1) {
		t.Errorf("redriven events: %s; want each delivered once", describeTally(p, entries)())
	}
	if left := deadLetters(t, c); len(left) > 0 {
		t.Errorf("%d dead letters left after the redrive", len(left))
	}
}

// deadLetters lists the whole DLQ.
func deadLetters(t *testing.T, c *adminapi.Client) []adminapi.DeadLetter {
	t.Helper()
	var out []adminapi.DeadLetter
	q := adminapi.DLQQuery{Limit: 500}
	for {
		page, err := c.DLQ(testCtx(t), q)
		if err != nil {
			t.Fatalf("GET /v1/dlq: %v", err)
		}
		out = append(out, page.Entries...)
		if page.Next == 0 {
			return out
		}
		q.After = page.Next
	}
}

func countType(entries []entry, typ string) int {
	n := 0
	for _, e := range entries {
		if e.typ == typ {
			n++
		}
	}
	return n
}

// (e) Run prints the banner with the export line, progress blocks and a summary, and stops
// cleanly once Duration has passed: it returns nil, the temporary directory is gone, and a
// shared Redis (RedisAddr) keeps no key of the demo's while other keys stay.
func TestRunPrintsProgressAndStopsCleanly(t *testing.T) {
	t.Parallel()
	r := testenv.Redis(t)
	rdb := r.Client(t)
	other := r.Prefix + "not-the-demo's"
	if err := rdb.Set(context.Background(), other, "stays", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	began := time.Now()
	err := Run(context.Background(), Options{Duration: 6 * time.Second, Interval: time.Second, Events: 500, Rate: 20,
		RedisAddr: r.Addr, AdminListen: "127.0.0.1:0"}, &out)
	took := time.Since(began)
	text := out.String()
	t.Logf("Run took %v; it printed:\n%s", took.Round(time.Millisecond), text)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	for _, want := range []string{
		"export AUDITPIPE_ADMIN_URL=http://127.0.0.1:", "AUDITPIPE_ADMIN_TOKEN=",
		"teleport-sim", "admin API", "6s passed: stopping", "stopped cleanly", "By event type:", "kube.request",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the output lacks %q", want)
		}
	}
	if n := strings.Count(text, "] received "); n < 3 {
		t.Errorf("%d progress blocks; want one a second", n)
	}
	if took > 40*time.Second {
		t.Errorf("Run took %v for a 6s demo", took)
	}
	if m := regexp.MustCompile(`files +(\S+)`).FindStringSubmatch(text); m == nil {
		t.Error("the output names no temporary directory")
	} else if _, err := os.Stat(m[1]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the temporary directory %s is still there: %v", m[1], err)
	}
	m := regexp.MustCompile(`keys are under (\S+) and`).FindStringSubmatch(text)
	if m == nil {
		t.Fatal("the output does not say the key prefix in the shared Redis")
	}
	if keys, err := rdb.Keys(context.Background(), redisGlob(m[1])+"*").Result(); err != nil || len(keys) > 0 {
		t.Errorf("keys of the demo left in the shared Redis: %v %v", keys, err)
	}
	if v, err := rdb.Get(context.Background(), other).Result(); err != nil || v != "stays" {
		t.Errorf("a key outside the demo's prefix: %q, %v; want it kept", v, err)
	}
}

// Start without any Redis fails at once with ErrNoRedis, saying how to get one.
func TestNoRedisSaysHowToGetOne(t *testing.T) {
	t.Setenv("REDIS_ADDR", "")
	t.Setenv("PATH", "/nonexistent")
	_, err := Start(context.Background(), Options{Events: 10, AdminListen: "127.0.0.1:0"})
	if !errors.Is(err, ErrNoRedis) {
		t.Fatalf("Start = %v; want ErrNoRedis", err)
	}
	for _, want := range []string{"redis-server is not on PATH", "apt-get install redis-server", "REDIS_ADDR=host:port"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// A Redis address that does not answer is an error naming it, not a hang.
func TestRedisAddrThatDoesNotAnswer(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	_, err = Start(context.Background(), Options{Events: 10, RedisAddr: addr, AdminListen: "127.0.0.1:0"})
	if !errors.Is(err, ErrNoRedis) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("Start = %v; want ErrNoRedis naming %s", err, addr)
	}
}

func TestOptionsRejectBadValues(t *testing.T) {
	for _, o := range []Options{{Events: -1}, {Shippers: 99}, {Duration: -time.Second}, {Interval: -1}, {History: time.Millisecond}} {
		if _, err := o.withDefaults(); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	o, err := Options{}.withDefaults()
	if err != nil || o.Events != DefaultEvents || o.Shippers != DefaultShippers || o.Since != DefaultHistory || o.AdminListen != DefaultAdminListen {
		t.Errorf("defaults = %+v, %v", o, err)
	}
}

func TestFormats(t *testing.T) {
	for d, want := range map[time.Duration]string{
		850 * time.Millisecond: "850ms", 2400 * time.Millisecond: "2.4s", 65 * time.Second: "1m05s",
		3*time.Hour + 12*time.Minute: "3h12m", 52 * time.Hour: "2d04h",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q; want %q", d, got, want)
		}
	}
	for d, want := range map[time.Duration]string{72 * time.Hour: "3d", time.Hour: "1h", 90 * time.Minute: "1h30m", 5 * time.Second: "5s"} {
		if got := formatSpan(d); got != want {
			t.Errorf("formatSpan(%v) = %q; want %q", d, got, want)
		}
	}
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -20000: "-20,000"} {
		if got := formatInt(n); got != want {
			t.Errorf("formatInt(%d) = %q; want %q", n, got, want)
		}
	}
}

func memberIDs(st *adminapi.Status) []string {
	if st == nil {
		return nil
	}
	var ids []string
	for svc, ms := range st.Replicas {
		for _, m := range ms {
			ids = append(ids, svc+"/"+m.ID)
		}
	}
	return ids
}

func mustClient(t *testing.T, url, token string) *adminapi.Client {
	t.Helper()
	c, err := adminapi.NewClient(url, token)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func isStatus(err error, status int) bool {
	var apiErr *adminapi.Error
	return errors.As(err, &apiErr) && apiErr.Status == status
}

// redisGlob escapes a key prefix for KEYS.
func redisGlob(s string) string {
	return regexp.MustCompile(`([*?\[\]\\])`).ReplaceAllString(s, `\$1`)
}
