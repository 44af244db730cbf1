// Package tlsfiles keeps TLS material read from files current while a process runs: a
// certificate with its private key, and a bundle of CA certificates. Certificates with a TTL
// (those of auditpipectl configure, tbot's) and secrets that cert-manager rotates in place are
// picked up without a restart.
//
// [Open] reads the files once — a file that cannot be used fails it, with an error that names
// the configuration setting and the path, never the contents — and then re-reads them when
// their directories change and on [Config.Interval] (see package filewatch, which also explains
// why directories are watched). The key pair and the CA bundle are reloaded independently: each
// reload that succeeds puts the new material in force for the handshakes that follow; one that
// fails (a half-written file, a key that does not match the certificate, a file gone) keeps the
// previous material, and is logged once per distinct content or error.
//
// Handshakes pick up the newest material through the configs [Credentials.ServerConfig] and
// [Credentials.ClientConfig] build. Connections already open keep what they were opened with:
// TLS checks certificates at the handshake only.
package tlsfiles
