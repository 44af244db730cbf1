package main

import (
	"github.com/auditpipe/auditpipe/pkg/replicas"
)

// beatInterval is how often the replica beats into the replicas register
// (replicas.Registry.RunLogged); tests shorten it.
var beatInterval = replicas.DefaultInterval
