package main

import (
	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/ingest"
	"github.com/auditpipe/auditpipe/pkg/replicas"
)

// beatInterval is how often the replica beats into the replicas register
// (replicas.Registry.RunLogged); tests shorten it.
var beatInterval = replicas.DefaultInterval

// ingestMember is what an ingest replica reports in its beats.
func ingestMember(st ingest.Status) adminapi.IngestMember {
	return adminapi.IngestMember{
		Mode:        string(st.Mode),
		Running:     st.Running,
		DryRun:      st.DryRun,
		NewestEvent: st.Newest,
		LagSeconds:  st.Lag.Seconds(),
		Read:        st.Events.Read,
		Published:   st.Events.Published,
		Duplicates:  st.Events.Duplicates,
		Held:        len(st.Held),
	}
}
