// Package datadog is the datadog sink: it delivers Teleport events to the Datadog Logs intake
// (POST /api/v2/logs) through datadog-api-client-go's LogsApi.SubmitLog, gzip-compressed.
//
// # Log items
//
// Each event becomes one log item:
//   - message: the event JSON exactly as Teleport sent it (Datadog parses it into attributes);
//   - ddsource: forward.datadog.source ("teleport" when empty); service and hostname: the
//     configured values, left out when empty;
//   - ddtags: the configured tags, then "event:<type>" and "cluster:<name>" (left out when the
//     event names no cluster); commas and white space in a value become "_";
//   - date: the event's time, so Datadog files the log at the time it happened. Datadog
//     accepts log dates up to 18 hours in the past and 2 hours in the future; the date is
//     left out for an event outside [now-17h, now+2h] (an hour of margin for queueing), and
//     Datadog then files the log at the time it received it. The event's own "time" field is
//     in the message either way: a backfill or replay of old events is searchable by it,
//     though Datadog's timeline shows it at ingestion time.
//
// # Requests
//
// A batch is sent as few requests as Datadog's limits allow, one after another in batch
// order: at most forward.datadog.batch items (1000 when zero, Datadog's maximum) and at most
// [MaxPayloadBytes] of JSON before compression. The client library's built-in retry stays
// off: a failed request is reported to the shipper, which retries. After a request that
// failed with Retry, the rest of the batch is not sent (it would meet the same failure) and
// is reported Retry with the same RetryAfter and Blocked.
//
// The intake's answers map to outcomes:
//   - 2xx: Delivered;
//   - 429: Retry with RetryAfter from Retry-After (seconds or an HTTP date) or
//     X-Ratelimit-Reset, capped at [MaxRetryAfter]; 408 and 5xx: Retry (RetryAfter when the
//     intake sent one); no answer (reset, timeout, ctx ended): Retry;
//   - 401 and 403 (key refused), 404 and 407 (a wrong url override or an unauthenticated
//     proxy): Retry with Blocked — no event can pass until an operator acts. The sink logs an
//     ERROR with alert=true when it becomes blocked, sets auditpipe_sink_blocked{sink="datadog"}
//     to 1 until a request succeeds again, and while blocked reads the API key afresh before
//     each request (a fixed api-key-file is picked up without a restart; DD_API_KEY needs
//     one);
//   - 413: the request is split in two and each half sent again, down to single events; a
//     single event answered 413 is Rejected;
//   - 400 and other 4xx: Rejected, with the status and the start of the intake's answer.
//
// # Oversize events
//
// Datadog truncates a log item over 1 MB (see [MaxItemBytes]) and still answers 202: an
// event that large would silently lose its tail. Instead, the sink sends a marked record in
// its place — a JSON object with the event's small top-level fields (event, uid, time, user,
// … up to 4 KiB each) and an "auditpipe_truncated" field giving the original size and the
// fields left out, tagged auditpipe_truncated:true — and, once Datadog accepted that record,
// reports the event Rejected with a Reason starting with [ReasonOversize]. The shipper then
// puts the full event in the dead-letter queue and terminates it, as for any rejected event:
// the full event is kept, and Datadog shows where it went. Until the record is accepted the
// event is Retry, like its neighbours.
//
// # Secrets
//
// The API key comes from [config.Datadog.APIKey] (DD_API_KEY or forward.datadog.api-key-file)
// and goes only into the DD-API-KEY header. No Reason, error or log line holds it.
//
// # Metrics
//
// With [WithRegisterer], shared with the other HTTP sinks and told apart by sink="datadog":
// auditpipe_sink_http_requests_total{sink,code} (code "error" when no answer came),
// auditpipe_sink_http_request_duration_seconds{sink}, auditpipe_sink_http_sent_bytes_total{sink}
// (request bodies as sent, gzip) and auditpipe_sink_blocked{sink}; Datadog's own:
// auditpipe_sink_datadog_payload_bytes_total (JSON before compression),
// auditpipe_sink_datadog_request_items and auditpipe_sink_datadog_oversize_events_total.
//
// The fake intake in sink/datadog/datadogtest enforces the intake's documented behaviour for
// tests.
package datadog
