package main

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/replicas"
	"github.com/auditpipe/auditpipe/pkg/service/servicetest"
	"github.com/auditpipe/auditpipe/pkg/teleportsim"
	"github.com/auditpipe/auditpipe/pkg/teleportsim/teleportsimtest"
	"github.com/auditpipe/auditpipe/pkg/testenv"
)

func TestMain(m *testing.M) {
	beatInterval = 100 * time.Millisecond // before any test runs: the beats read it
	os.Exit(m.Run())
}

// TestReplicaBeats runs the real program against the Teleport simulator, a real Redis and
// an embedded NATS: while it runs, the admin API's register (replicas.Registry.List) lists
// it under its owner id with its version and an adminapi.IngestMember status that shows the
// events it published; a graceful stop removes it from the register at once (Leave, not
// expiry).
func TestReplicaBeats(t *testing.T) {
	t.Parallel()
	ns := testenv.NATS(t)
	rds := testenv.Redis(t)
	now := time.Now().UTC()
	simLog, err := teleportsim.NewLog(teleportsim.Options{Seed: 1, Count: 300, From: now.Add(-2 * time.Hour), To: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	sim := teleportsimtest.Start(t, teleportsim.ServerConfig{Log: simLog})

	cfgFile := servicetest.ConfigFile(t, fmt.Sprintf(`start-time = %q
timeout = "200ms"
batch = 100

[teleport]
addr = %q
identity = %q

[redis]
addr = %q
key-prefix = %q

[nats]
url = %q

[metrics]
listen = "127.0.0.1:0"
`, now.Add(-3*time.Hour).Format(time.RFC3339), sim.Addr(), sim.Credentials().Identity, rds.Addr, rds.Prefix, ns.URL))
	svc := servicetest.Start(t, run, []string{"--config", cfgFile, "--owner", "ingest-7"}, nil)

	rdb := rds.Client(t)
	register := replicas.New(rdb, rds.Prefix)
	want := replicas.Replica{Service: replicas.ServiceIngest, ID: "ingest-7", Version: version}
	member := servicetest.Member(t, svc, register, want, 60*time.Second, func(m adminapi.IngestMember) bool {
		return m.Running && m.Published >= int64(simLog.Len())
	})
	if member.Mode == "" || member.Read < member.Published || member.NewestEvent.IsZero() || member.LagSeconds <= 0 {
		t.Errorf("status %+v; want the mode, counts, newest event and lag", member)
	}

	svc.Stop(t)
	// Left, not expired: the field is gone from the register's hash.
	if n, err := rdb.HLen(t.Context(), rds.Prefix+"replicas:"+replicas.ServiceIngest).Result(); err != nil || n != 0 {
		t.Errorf("register after the stop holds %d replicas (%v); want none", n, err)
	}
}
