// Package clients builds the Redis and NATS clients every auditpipe service connects with,
// from the [redis] and [nats] configuration, so that ingest, shipper, admin and the demo
// connect the same way: the same TLS rules, the same reconnect policy, the same logging of
// connection loss, and errors that name the configuration key and never a secret.
package clients
