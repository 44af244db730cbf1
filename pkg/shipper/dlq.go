package shipper

import (
	"context"

	"github.com/auditpipe/auditpipe/pkg/stream"
)

// deadLetter writes the item to the DLQ stream with the sink, reason and delivery count and
// its original subject, sequence, headers and body, then terminates it. reasonClass labels
// the metric (rejected, exhausted, undecodable).
//
// A failed write is retried with backoff until ctx ends, the item staying unsettled (and so
// kept in progress): a full or unreachable DLQ stalls, it never drops. When ctx ends first,
// the item is left unsettled for the caller to nak.
func (w *worker) deadLetter(ctx context.Context, it *item, reasonClass, reason string) {
	d := stream.DeadLetter{
		Sink:            w.name,
		Reason:          reason,
		Attempts:        it.attempts,
		OriginalSubject: it.msg.Subject(),
		OriginalSeq:     it.seq,
		Header:          it.msg.Headers(),
		Body:            it.msg.Data(),
	}
	wait := w.e.cfg.RetryInitial
	for {
		dlqSeq, err := w.dlq.Put(ctx, d)
		if err == nil {
			termErr := w.term(it)
			w.mDeadLetters.WithLabelValues(reasonClass).Inc()
			w.deadLettered.Add(1)
			w.log.Warn("event dead-lettered", "seq", it.seq, "type", it.eventType(), "attempts", it.attempts,
				"class", reasonClass, "reason", reason, "dlq_seq", dlqSeq, "term_err", termErr)
			return
		}
		w.mDLQErrors.Inc()
		w.log.Error("writing a dead letter failed; the event stays unacknowledged and is retried",
			"seq", it.seq, "class", reasonClass, "err", err, "retry_in", wait)
		if !sleep(ctx, wait) {
			return
		}
		wait = min(2*wait, w.e.cfg.BlockedRetryMax)
	}
}
