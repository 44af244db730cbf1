package main

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/replicas"
	"github.com/auditpipe/auditpipe/pkg/service/servicetest"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd/fluentdtest"
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
	cfgFile := servicetest.ConfigFile(t, fmt.Sprintf(`[nats]
url = %q
%s
[shipper]
sinks = ["fluentd"]

[redis]
addr = %q
key-prefix = %q

[metrics]
listen = "127.0.0.1:0"
`, ns.URL, fluentdTOML(peer.Config()), rds.Addr, rds.Prefix))
	sh := startShipper(t, cfgFile, []string{"AUDITPIPE_OWNER=shipper-3"}, ns, "fluentd")
	events := auditEvents(15)
	sh.publish(t, events)

	rdb := rds.Client(t)
	register := replicas.New(rdb, rds.Prefix)
	want := replicas.Replica{Service: replicas.ServiceShipper, ID: "shipper-3", Version: version}
	member := servicetest.Member(t, sh.Service, register, want, 30*time.Second, func(m adminapi.ShipperMember) bool {
		return m.Delivered["fluentd"] >= int64(len(events))
	})
	if !slices.Equal(member.Sinks, []string{"fluentd"}) || len(member.Blocked) != 0 || member.Delivered["fluentd"] != int64(len(events)) {
		t.Errorf("status %+v; want sinks [fluentd], none blocked, %d delivered", member, len(events))
	}

	sh.Stop(t)
	// Left, not expired: the field is gone from the register's hash.
	if n, err := rdb.HLen(t.Context(), rds.Prefix+"replicas:"+replicas.ServiceShipper).Result(); err != nil || n != 0 {
		t.Errorf("register after the stop holds %d replicas (%v); want none", n, err)
	}
}
