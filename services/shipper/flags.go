package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/auditpipe/auditpipe/pkg/config"
)

// options is what the command line says.
type options struct {
	// configFile is --config; empty lets config.Load read AUDITPIPE_CONFIG.
	configFile string
	// settings are the configuration keys the flags set, for config.Sources.Flags.
	settings map[string]string
	version  bool
}

// parseFlags parses args. --help prints the usage to stderr and returns flag.ErrHelp; other
// errors name the flag and never show a --set value.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	var (
		opts  options
		sets  config.SetFlags
		sinks string
		fs    = flag.NewFlagSet("auditpipe-shipper", flag.ContinueOnError)
	)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: auditpipe-shipper [flags]

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
`)
		fs.PrintDefaults()
	}
	fs.StringVar(&opts.configFile, "config", "", "TOML configuration `file` (default: $AUDITPIPE_CONFIG)")
	fs.Var(&sets, "set", "set a configuration `key=value`, as in the file (repeatable; wins over the file and the environment)")
	fs.StringVar(&sinks, "sinks", "", "the `sinks` this replica serves, comma-separated: fluentd, datadog, lock (--set shipper.sinks=…)")
	fs.BoolVar(&opts.version, "version", false, "print the version and exit")

	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return options{}, fmt.Errorf("unexpected argument %q: every setting is a flag (see --help)", fs.Arg(0))
	}
	settings, err := config.ParseSetFlags(sets)
	if err != nil {
		return options{}, err
	}
	// The shorthand wins over --set.
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "sinks" {
			settings["shipper.sinks"] = sinks
		}
	})
	opts.settings = settings
	return opts, nil
}
