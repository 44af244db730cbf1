package main

import (
	"log/slog"

	"github.com/auditpipe/auditpipe/pkg/config"
)

// minBatchesInFlight is how many batches of each sink shipper.max-in-flight should leave room
// for. It is every sink consumer's MaxAckPending, shared by all the replicas: with room for
// fewer batches, the replicas' pulls wait for each other's acks and more replicas add little
// or no throughput (max-in-flight 1000 with Datadog batches of 500 leaves two batches in
// flight in the whole deployment).
const minBatchesInFlight = 4

// warnInFlight logs a WARN at start when shipper.max-in-flight is less than minBatchesInFlight
// times the largest batch of the sinks this replica runs, naming the sink, its batch key and
// the max-in-flight that would leave room for them. It logs nothing otherwise.
func warnInFlight(cfg *config.Config, log *slog.Logger) {
	var sink string
	var batch int
	for _, name := range cfg.Shipper.Sinks {
		if b := sinkBatch(cfg, name); b > batch {
			sink, batch = name, b
		}
	}
	inFlight := cfg.Shipper.MaxInFlight
	if batch == 0 || inFlight >= minBatchesInFlight*batch {
		return
	}
	batchKey := "forward." + sink + ".batch"
	if sink == config.SinkLock {
		batchKey = "none (the lock sink's batch is fixed)"
	}
	log.Warn("shipper.max-in-flight leaves room for fewer than 4 batches of a sink: it is the sink consumer's "+
		"MaxAckPending, shared by ALL replicas, so only batches_in_flight batches are in flight in the whole deployment "+
		"and more replicas add little throughput; raise shipper.max-in-flight to at least want_max_in_flight "+
		"(about replicas × 4 × batch), or lower the sink's batch (batch_key)",
		"sink", sink, "batch_key", batchKey, "batch", batch, "max_in_flight", inFlight,
		"batches_in_flight", inFlight/batch, "want_max_in_flight", minBatchesInFlight*batch)
}
