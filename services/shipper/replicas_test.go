package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/replicas"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd/fluentdtest"
	"github.com/auditpipe/auditpipe/pkg/sink/sinktest"
	"github.com/auditpipe/auditpipe/pkg/testenv"
)

func TestMain(m *testing.M) {
	beatInterval = 100 * time.Millisecond // before any test runs: the beats read it
	os.Exit(m.Run())
}

// TestReplicaBeats: a running shipper is listed by the admin API's register
// (replicas.Registry.List) under AUDITPIPE_OWNER, with its version and an
// adminapi.ShipperMember status naming the sinks it serves and what each delivered; a
// graceful stop removes it from the register at once (Leave, not expiry).
func TestReplicaBeats(t *testing.T) {
	t.Parallel()
	ns := testenv.NATS(t)
	rds := testenv.Redis(t)
	peer := fluentdtest.New(t)
	f := peer.Config()
	cfgFile := filepath.Join(t.TempDir(), "auditpipe.toml")
	toml := fmt.Sprintf(`[nats]
url = %q

[forward.fluentd]
url = %q
session-url = %q
ca = %q
cert = %q
key = %q

[shipper]
sinks = ["fluentd"]

[redis]
addr = %q
key-prefix = %q

[metrics]
listen = "127.0.0.1:0"
`, ns.URL, f.URL, f.SessionURL, f.CA, f.Cert, f.Key, rds.Addr, rds.Prefix)
	if err := os.WriteFile(cfgFile, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	sh := startShipper(t, cfgFile, []string{"AUDITPIPE_OWNER=shipper-3"}, ns, "fluentd")
	events := make([]event.Event, 15)
	for i := range events {
		events[i] = sinktest.AuditEvent(i)
	}
	sh.publish(t, events)

	rdb := rds.Client(t)
	register := replicas.New(rdb, rds.Prefix)
	var member adminapi.ShipperMember
	waitFor(t, 30*time.Second, "a beat with every event delivered", func() bool {
		reps, err := register.List(t.Context(), replicas.ServiceShipper)
		if err != nil {
			t.Fatal(err)
		}
		if len(reps) != 1 {
			return false
		}
		if rep := reps[0]; rep.ID != "shipper-3" || rep.Version != version || rep.Started.IsZero() {
			t.Fatalf("listed %+v; want id shipper-3, version %s", rep, version)
		}
		if err := json.Unmarshal(reps[0].Status, &member); err != nil {
			t.Fatalf("status %s: %v", reps[0].Status, err)
		}
		return member.Delivered["fluentd"] >= int64(len(events))
	}, sh.done, sh.stderr)
	if !slices.Equal(member.Sinks, []string{"fluentd"}) || len(member.Blocked) != 0 || member.Delivered["fluentd"] != int64(len(events)) {
		t.Errorf("status %+v; want sinks [fluentd], none blocked, %d delivered", member, len(events))
	}

	sh.stop(t)
	// Left, not expired: the field is gone from the register's hash.
	if n, err := rdb.HLen(t.Context(), rds.Prefix+"replicas:"+replicas.ServiceShipper).Result(); err != nil || n != 0 {
		t.Errorf("register after the stop holds %d replicas (%v); want none", n, err)
	}
}
