// Package sinktest is the behaviour suite that every [sink.Sink] passes, whatever it delivers
// to.
//
// A sink package runs it from its own tests against a peer: a test server that enforces the
// documented behaviour of the real destination (mutual TLS, API keys, size limits, status
// codes) and can be told to fail.
//
//	func TestSuite(t *testing.T) {
//		sinktest.Run(t, func(t *testing.T) (sink.Sink, sinktest.Peer) {
//			peer := fluentdtest.New(t)
//			s, err := fluentd.New(peer.Config())
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s, peer
//		})
//	}
//
// # What the suite proves
//
// For every [sink.Sink]:
//   - Name is not empty.
//   - Deliver returns exactly one Result per event, in the batch's order; an empty or nil
//     batch yields no Result and reaches no peer.
//   - Every event of a batch — audit and session events of several sessions, unicode and
//     escapes, integers beyond float64's precision, fields no Teleport library knows, a
//     100 KiB event — reaches the peer intact: the body the peer stored is the same JSON value
//     as the event's Body. Audit events arrive in batch order, each session's events in index
//     order.
//   - Delivered means the peer has the event: at no point may the sink report Delivered for
//     an event the peer does not hold.
//   - A failure of the peer maps to the documented outcome (see [FailureKind]): 5xx, reset and
//     a request still unanswered when ctx ends are Retry; 400 is Rejected with a reason; 401
//     and 403 are Retry with Blocked. Every Retry and Rejected carries a Reason, and no Reason
//     holds one of [Peer.Secrets].
//   - After a failure, delivering the Retry events again loses nothing and duplicates nothing.
//   - When one request of a batch fails and another succeeds (a sink that splits a batch into
//     several requests), each event's Result matches what the peer holds.
//   - A cancelled ctx yields Retry for every event and reaches no peer.
//   - Deliver calls from several goroutines at once deliver every event exactly once.
//
// Sink-specific behaviour (Fluentd's session URLs and 413 splitting, Datadog's truncation and
// Retry-After) is tested beside each sink; the helpers here ([AuditEvent], [SessionEvent],
// [Pad], [Key], [DeliverEventually]) serve those tests too.
//
// The suite runs its cases one after another, each with a fresh sink and peer from the
// [Factory].
package sinktest
