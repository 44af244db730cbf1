package main

import (
	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/replicas"
	"github.com/auditpipe/auditpipe/pkg/shipper"
)

// beatInterval is how often the replica beats into the replicas register
// (replicas.Registry.RunLogged); tests shorten it.
var beatInterval = replicas.DefaultInterval

// shipperMember is what a shipper replica reports in its beats: the sinks it serves, those
// blocked now, and the events each delivered.
func shipperMember(sinks []shipper.SinkStatus) adminapi.ShipperMember {
	m := adminapi.ShipperMember{Sinks: make([]string, 0, len(sinks)), Delivered: make(map[string]int64, len(sinks))}
	for _, s := range sinks {
		m.Sinks = append(m.Sinks, s.Sink)
		if s.Blocked {
			m.Blocked = append(m.Blocked, s.Sink)
		}
		m.Delivered[s.Sink] = int64(s.Delivered)
	}
	return m
}
