package main

import (
	"io"

	"github.com/auditpipe/auditpipe/pkg/service"
)

// options is what the command line says.
type options struct {
	// configFile is --config; empty lets config.Load read AUDITPIPE_CONFIG.
	configFile string
	// settings are the configuration keys the flags set, for config.Sources.Flags.
	settings map[string]string
	// owner names this replica in leases.
	owner   string
	version bool
}

// usage is the text of --help before the flags.
const usage = `Usage: auditpipe-ingest [flags]

auditpipe-ingest reads a Teleport cluster's audit log and session recordings into the JetStream
stream. Run as many replicas as you like: they share the work through leases in Redis. It serves
/healthz, /readyz and /metrics on metrics.listen, reloads the Teleport identity file on SIGHUP
(with teleport.refresh.enabled) and stops gracefully on SIGTERM or SIGINT.

Configuration: defaults, then the TOML file (--config or AUDITPIPE_CONFIG; an existing
teleport-event-handler.toml works), then AUDITPIPE_* variables, then flags. Every key is in
docs/config.md.

Flags:
`

// parseFlags parses args. env supplies the default of --owner (AUDITPIPE_OWNER, else
// "<hostname>-<pid>"). --help prints the usage to stderr and returns flag.ErrHelp; other
// errors name the flag and never show a --set value.
func parseFlags(args, env []string, stderr io.Writer) (options, error) {
	var opts options
	f := service.NewFlags(program, usage, stderr)
	fs := f.Set
	fs.StringVar(&opts.owner, "owner", "", "replica `id` in leases, unique per process, without #, { or } (default: $"+service.EnvOwner+", else <hostname>-<pid>)")
	// Shorthands for configuration keys of the same name.
	fs.Bool("dry-run", false, "read and count events but publish nothing and move no cursor (--set dry-run=true)")
	fs.Bool("exit-on-last-event", false, "exit 0 once every event up to the start is exported (--set exit-on-last-event=true)")
	fs.String("start-time", "", "export events from this RFC 3339 `time` on; first start only (--set start-time=…)")
	for _, key := range []string{"dry-run", "exit-on-last-event", "start-time"} {
		f.Shorthand(key, key)
	}

	settings, err := f.Parse(args)
	if err != nil {
		return options{}, err
	}
	opts.configFile, opts.settings, opts.version = f.ConfigFile, settings, f.Version
	if opts.owner == "" {
		opts.owner = service.ReplicaID(env, "ingest")
	}
	return opts, nil
}
