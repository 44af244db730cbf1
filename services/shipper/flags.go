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
	version  bool
}

// usage is the text of --help before the flags.
const usage = `Usage: auditpipe-shipper [flags]

auditpipe-shipper forwards the events of the JetStream stream to the sinks: Fluentd, Datadog and
Teleport locks. Each sink has one durable consumer (sink-<name>) that every replica shares, so
adding replicas adds throughput; an event is acknowledged only once its sink accepted it. It
serves /healthz, /readyz and /metrics on metrics.listen, reloads the Teleport identity file of
the lock sink on SIGHUP, and stops gracefully on SIGTERM or SIGINT. It is listed by the admin
API under $AUDITPIPE_OWNER, else <hostname>-<pid>.

Configuration: defaults, then the TOML file (--config or AUDITPIPE_CONFIG; an existing
teleport-event-handler.toml works), then AUDITPIPE_* variables, then flags. Every key is in
docs/config.md.

Flags:
`

// parseFlags parses args. --help prints the usage to stderr and returns flag.ErrHelp; other
// errors name the flag and never show a --set value.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	f := service.NewFlags(program, usage, stderr)
	f.Set.String("sinks", "", "the `sinks` this replica serves, comma-separated: fluentd, datadog, lock (--set shipper.sinks=…)")
	f.Shorthand("sinks", "shipper.sinks")
	settings, err := f.Parse(args)
	if err != nil {
		return options{}, err
	}
	return options{configFile: f.ConfigFile, settings: settings, version: f.Version}, nil
}
