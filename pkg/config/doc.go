// Package config is the one configuration format of every auditpipe service: ingest, shipper
// and admin.
//
// # Sources and precedence
//
// [Load] builds a [Config] from, lowest precedence first:
//
//  1. [Default] values;
//  2. a TOML file: [Sources.File], else the file named by AUDITPIPE_CONFIG;
//  3. the environment: DD_SITE, then one AUDITPIPE_* variable per key (see below);
//  4. flags: [Sources.Flags], dotted keys to values (see [ParseSetFlags]).
//
// A key is the TOML path of a value, dotted: "batch", "teleport.refresh.enabled",
// "forward.fluentd.url". Its environment variable is AUDITPIPE_ followed by the key in upper
// case with "." and "-" written as "_": AUDITPIPE_FORWARD_FLUENTD_SESSION_URL. The key set is
// fixed, so the mapping is one to one; an AUDITPIPE_* variable that names no key is an error,
// except AUDITPIPE_CONFIG, AUDITPIPE_ADMIN_URL and AUDITPIPE_ADMIN_TOKEN (read by auditpipectl)
// and the names a caller claims in [Sources.AllowEnv].
//
// Environment and flag values are strings; they are read as the key's type would be read from
// a TOML string: integers, true/false, Go durations ("10s", "24h"), RFC 3339 times, and lists
// as comma-separated items ("user.login,session.start"; an empty string is an empty list).
//
// # teleport-event-handler files
//
// An existing teleport-event-handler.toml loads as it is: its keys are auditpipe keys with the
// same meaning and defaults. Its "storage" and "cursor" keys are accepted and ignored with a
// [Warning] (auditpipe keeps its state in Redis), and its "debug = true" sets log.level to
// "debug" unless the file sets log.level itself. As teleport-event-handler's TOML reader did,
// integers, booleans and lists may also be written as TOML strings ("20", "true", "a,b").
//
// # Errors
//
// Load and [Config.Validate] report every problem at once, joined with [errors.Join]; each is
// a [*Problem] that names the key ("forward.fluentd.url: scheme must be https, got http").
// Problems in the file carry its path and line. An unknown key or variable is a problem with
// a did-you-mean suggestion.
//
// # Secrets
//
// Secrets come from files named in the configuration (redis.password-file,
// forward.datadog.api-key-file, admin.tokens-file, nats.creds) or from DD_API_KEY, and are
// read on demand as a [Secret], whose every printed form is redacted. Load refuses a secret
// written into the configuration: an inline key such as redis.password (unknown, with a
// hint), a URL with credentials, PEM text where a file name belongs, and a secret's file
// name that may be the secret itself. So a Config holds no secret in its keys; the one it
// keeps, DD_API_KEY for [Datadog.APIKey], is in an unexported field that printing shows as
// an address. No error, warning, [Config.String], [Config.LogValue] or JSON shows a secret.
//
// # Use
//
// A service loads, logs the warnings, and validates for itself:
//
//	cfg, warnings, err := config.Load(config.Sources{File: cli.Config, Env: os.Environ(), Flags: flags})
//	if err != nil {
//		return err
//	}
//	for _, w := range warnings {
//		logger.Warn("config", "key", w.Key, "warning", w.Message)
//	}
//	if err := cfg.ValidateFor(config.ServiceIngest); err != nil {
//		return err
//	}
package config
