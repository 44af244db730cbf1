package admin

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/auditpipe/auditpipe/pkg/replicas"
)

// TestStateMetrics proves that a scrape reads the live replicas of each component from the
// register and the dead letters of each sink from the DLQ, every known sink included at 0.
func TestStateMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	for _, rep := range []replicas.Replica{
		{Service: replicas.ServiceIngest, ID: "ingest-1"},
		{Service: replicas.ServiceIngest, ID: "ingest-2"},
		{Service: replicas.ServiceShipper, ID: "shipper-1"},
	} {
		if err := e.registry.Beat(ctx, rep, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	e.putDeadLetter("fluentd", "user.login", "uid-1", "400 bad request", 1, []byte(`{}`))
	e.putDeadLetter("fluentd", "user.login", "uid-2", "400 bad request", 2, []byte(`{}`))
	e.putDeadLetter("datadog", "user.login", "uid-3", "400 bad request", 3, []byte(`{}`))

	want := `
# HELP auditpipe_admin_dlq_messages Dead letters held in the DLQ stream, by the sink that gave up on them.
# TYPE auditpipe_admin_dlq_messages gauge
auditpipe_admin_dlq_messages{sink="datadog"} 1
auditpipe_admin_dlq_messages{sink="fluentd"} 2
auditpipe_admin_dlq_messages{sink="lock"} 0
# HELP auditpipe_admin_replicas Live replicas in the replicas register by component (ingest, shipper, admin): those that beat within the last 15 s.
# TYPE auditpipe_admin_replicas gauge
auditpipe_admin_replicas{component="admin"} 0
auditpipe_admin_replicas{component="ingest"} 2
auditpipe_admin_replicas{component="shipper"} 1
`
	if err := testutil.GatherAndCompare(e.reg, strings.NewReader(want), "auditpipe_admin_dlq_messages", "auditpipe_admin_replicas"); err != nil {
		t.Error(err)
	}
}

// TestStateMetricsWithoutDLQ: before the streams exist the replicas are still counted and
// the DLQ metric is left out, without failing the scrape.
func TestStateMetricsWithoutDLQ(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withoutStreams)
	want := `
# HELP auditpipe_admin_replicas Live replicas in the replicas register by component (ingest, shipper, admin): those that beat within the last 15 s.
# TYPE auditpipe_admin_replicas gauge
auditpipe_admin_replicas{component="admin"} 0
auditpipe_admin_replicas{component="ingest"} 0
auditpipe_admin_replicas{component="shipper"} 0
`
	if err := testutil.GatherAndCompare(e.reg, strings.NewReader(want), "auditpipe_admin_dlq_messages", "auditpipe_admin_replicas"); err != nil {
		t.Error(err)
	}
}
