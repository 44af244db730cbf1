// Package admin is the admin REST API server (github.com/go-chi/chi/v5): operators see where
// export stands and act on it — replays, start-time resets, pausing ingest, dead letters —
// over the state that ingest and the shippers share in Redis (package window) and JetStream
// (package stream). The wire format, routes and error codes are package adminapi's; the
// OpenAPI document is served at /v1/openapi.json; docs/admin-api.md is the operator's guide.
//
// # Routes
//
//	GET    /healthz, /readyz, /metrics          no auth, no rate limit
//	GET    /v1/openapi.json                     no auth
//	GET    /v1/status, /v1/replays, /v1/replays/{id}, /v1/dlq            scope read or admin
//	POST   /v1/replays, /v1/ingest/pause, /v1/ingest/resume, /v1/dlq/redrive  scope admin
//	PUT    /v1/start-time                                                  scope admin
//	DELETE /v1/replays/{id}, /v1/dlq/{id}                                  scope admin
//
// Every error is JSON adminapi.ErrorBody with its status: 400 bad_request (malformed JSON,
// unknown fields, trailing data, bad values: from ≥ to, a range in the future, an unknown
// sink…), 401 unauthorized (with WWW-Authenticate: Bearer), 403 forbidden (a read scope on a
// write route), 404 not_found, 405 method_not_allowed (with Allow), 409 conflict, 413
// payload_too_large (bodies over adminapi.MaxBodyBytes), 415 unsupported_media_type (a body
// that is not application/json), 429 rate_limited, 503 unavailable (Redis or NATS do not
// answer, or the request ran past RequestTimeout) and 500 internal (also for a handler's
// panic, which is recovered and logged with its stack).
//
// # Authentication
//
// A request to /v1 (but the OpenAPI document) is authenticated by, in order:
//
//  1. Authorization: Bearer <token>, when the token is in admin.tokens-file. Its identity in
//     logs is "token:" + the first 8 hex digits of the token's SHA-256 — never the token.
//     A bearer header with an unknown token is 401 even if a client certificate came too.
//  2. A client certificate verified against admin.tls.client-ca (the server asks for one and
//     verifies it when given, so token clients and probes need none). Its scope is read when
//     one of its Subject OrganizationalUnit values contains "read" (in any case: "read",
//     "readonly", "Readers"), else admin; its identity is "cert:" + its Subject CommonName.
//  3. With neither configured, admin.insecure-no-auth (--insecure-dev-no-auth) lets everyone
//     in as "anonymous" with the admin scope — for development only; New refuses to build a
//     Server with no authentication otherwise.
//
// The tokens file has one "<scope> <token>" per line, separated by spaces or tabs, scope read
// (GET routes) or admin (every route); blank lines and lines starting with "#" are ignored,
// and a token may appear once:
//
//	# auditpipectl and dashboards
//	read  3f9c0c2e5b0d4d7e9a1c8b6f2e4d0a17
//	admin 7d2a91f04c6e4b1b8e3f5a9c0d2b6e48
//
// Presented tokens are compared with every token's SHA-256 in constant time
// (crypto/subtle). The file is read again when its directory changes — edits in place,
// atomic renames and Kubernetes secret updates (symlink swaps) alike; a file that fails to
// read or parse then keeps the previous tokens in force and is logged as an error. An empty
// file is valid and accepts no token.
//
// admin.tls.cert, admin.tls.key and admin.tls.client-ca are kept current the same way
// (package tlsfiles, also re-read every minute): new connections get the newest certificate
// and are verified against the newest client CA; a rewrite that does not parse keeps the
// previous files in force and is logged as an error.
//
// # Middleware
//
// Every request gets an id (the client's X-Request-Id when sane, else one made up; echoed in
// the X-Request-Id response header), a log line (slog: method, route pattern, status,
// duration, request id, who), Prometheus metrics on Deps.Registerer
// (auditpipe_admin_http_requests_total{route,method,code},
// auditpipe_admin_http_request_duration_seconds{route,method}) and panic recovery. /v1
// requests are limited to RateLimit per RateWindow per client IP and bounded by
// RequestTimeout. Every request to a write route is also logged at INFO as "admin action"
// with who, the route, the request id, the status and the outcome (e.g. the replay id it
// created).
package admin
