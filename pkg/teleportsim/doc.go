// Package teleportsim is a stand-in for a Teleport Auth Service's audit log, for the demo,
// the integration tests, the chaos suite and the benchmarks.
//
// It has two halves:
//   - Log: a simulated audit log and its session recordings, generated deterministically from a
//     seed (see Options). It keeps compact metadata per event and renders each event's JSON on
//     demand, so a million events fit in memory; it answers search, bulk-export and
//     session-stream queries with Teleport's semantics, and writes a manifest of every event.
//   - Server: a gRPC server over mutual TLS that serves the real generated services from
//     github.com/gravitational/teleport/api (AuditLogService, and Ping/UpsertLock/GetLocks of
//     AuthService) on top of a Log, with switchable faults, and writes the client credentials.
//
// The production Teleport client talks to Server unchanged.
package teleportsim
