package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/service/servicetest"
	"github.com/auditpipe/auditpipe/pkg/teleportsim"
	"github.com/auditpipe/auditpipe/pkg/teleportsim/teleportsimtest"
	"github.com/auditpipe/auditpipe/pkg/testenv"
)

// TestSmokeLock runs the real program with the lock sink against an embedded NATS, a real
// Redis and the Teleport simulator: four failed logins of one user within the period lock
// that user once; other events do not reach the sink's consumer.
func TestSmokeLock(t *testing.T) {
	t.Parallel()
	ns := testenv.NATS(t)
	rds := testenv.Redis(t)
	simLog, err := teleportsim.NewLog(teleportsim.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	sim := teleportsimtest.Start(t, teleportsim.ServerConfig{Log: simLog})

	cfgFile := servicetest.ConfigFile(t, fmt.Sprintf(`lock-failed-attempts-count = 3
lock-period = "1m"

[teleport]
addr = %q
identity = %q

[redis]
addr = %q
key-prefix = %q

[nats]
url = %q

[shipper]
sinks = ["lock"]

[metrics]
listen = "127.0.0.1:0"
`, sim.Addr(), sim.Credentials().Identity, rds.Addr, rds.Prefix, ns.URL))
	sh := startShipper(t, cfgFile, nil, ns, "lock")

	at := time.Now().UTC().Add(-time.Minute)
	var events []event.Event
	for i := range 4 {
		events = append(events, failedLogin(t, fmt.Sprintf("login-%d", i), "alice", at.Add(time.Duration(i)*time.Second)))
	}
	other, err := event.Parse(event.Audit, []byte(`{"event":"session.start","uid":"s-1","user":"alice","time":"2025-01-01T00:00:00Z"}`))
	if err != nil {
		t.Fatal(err)
	}
	sh.publish(t, append(events, other))
	sh.WaitFor(t, 30*time.Second, "a lock in Teleport", func() bool { return len(sim.Locks()) > 0 })
	time.Sleep(200 * time.Millisecond) // a second lock, if any, would be there now
	if locks := sim.Locks(); len(locks) != 1 || locks[0].Spec.Target.User != "alice" {
		t.Errorf("locks = %v; want one, of alice", locks)
	}

	ready := get(t, "http://"+sh.HealthAddr(t)+"/readyz")
	for _, want := range []string{`"status":"ok"`, `"sink-lock":"ok"`, `"redis":"ok"`, `"teleport":"ok"`} {
		if !strings.Contains(ready, want) {
			t.Errorf("/readyz = %s; want %s", ready, want)
		}
	}
	info, err := sh.js.Consumer(t.Context(), "TELEPORT_EVENTS", "sink-lock")
	if err != nil {
		t.Fatal(err)
	}
	if got := info.CachedInfo().Delivered.Stream; got > uint64(len(events)) {
		t.Errorf("the lock consumer was delivered up to stream sequence %d; want only the %d logins", got, len(events))
	}
	sh.Stop(t)
}

// failedLogin is a user.login event that failed.
func failedLogin(t *testing.T, uid, user string, at time.Time) event.Event {
	t.Helper()
	body := fmt.Sprintf(`{"event":"user.login","code":"T1000W","uid":%q,"time":%q,"cluster_name":"test",`+
		`"user":%q,"method":"local","success":false,"error":"invalid username, password or second factor"}`,
		uid, at.Format(time.RFC3339Nano), user)
	ev, err := event.Parse(event.Audit, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}
