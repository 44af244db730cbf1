// Package demo runs the whole auditpipe pipeline on one machine, in one process, with no
// set-up: the `auditpipectl demo` verb and `make demo`.
//
// What runs (Start):
//   - teleport-sim (package teleportsim) serving a simulated audit log over mutual TLS with
//     generated credentials: Options.Events historical events over Options.History, and live
//     events at Options.Rate per second;
//   - an embedded NATS server with JetStream (nats-server/v2), on a free port, its store in
//     the demo's temporary directory;
//   - Redis: Options.RedisAddr, else $REDIS_ADDR (both shared: the demo's keys live under a
//     prefix of their own and are deleted on Stop), else a redis-server from PATH started on a
//     free port (package redisserver), else Start fails with ErrNoRedis saying how to get one;
//   - one ingest engine (package ingest), configured from config.Default() with the
//     simulator's address and identity file, start-time Options.Since ago;
//   - Options.Shippers shipper engines (package shipper) for the fluentd sink, each with its
//     own NATS connection and sink, as separate replicas would;
//   - a local Fluentd-compatible receiver: an in_http over mutual TLS that counts what
//     arrives, by event type and (for audit events) by uid;
//   - the admin API (package admin) on Options.AdminListen (a free port when it is taken),
//     with an admin token made for the run, written to a tokens file;
//   - the replicas register (package replicas): every engine beats, so the admin API's
//     /v1/status lists them.
//
// Every engine and server logs to one file (Options.LogFile, else engines.log in the
// temporary directory), so that the progress stays legible. Run prints the addresses, the
// `export AUDITPIPE_ADMIN_URL=… AUDITPIPE_ADMIN_TOKEN=…` line for auditpipectl, then a progress
// block every Options.Interval, and a summary after Stop.
//
// Stop drains the engines (source first), stops the servers, deletes the demo's keys from a
// shared Redis or stops the redis-server it started, and removes the temporary directory.
package demo
