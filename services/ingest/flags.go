package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/auditpipe/auditpipe/pkg/config"
)

// envOwner names the environment variable that --owner defaults to (a pod name, say).
const envOwner = "AUDITPIPE_OWNER"

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

// parseFlags parses args. env supplies the default of --owner (AUDITPIPE_OWNER, else
// "<hostname>-<pid>"). --help prints the usage to stderr and returns flag.ErrHelp; other
// errors name the flag and never show a --set value.
func parseFlags(args, env []string, stderr io.Writer) (options, error) {
	var (
		opts options
		sets config.SetFlags
		fs   = flag.NewFlagSet("auditpipe-ingest", flag.ContinueOnError)
	)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: auditpipe-ingest [flags]

auditpipe-ingest reads a Teleport cluster's audit log and session recordings into the JetStream
stream. Run as many replicas as you like: they share the work through leases in Redis. It serves
/healthz, /readyz and /metrics on metrics.listen, reloads the Teleport identity file on SIGHUP
(with teleport.refresh.enabled) and stops gracefully on SIGTERM or SIGINT.

Configuration: defaults, then the TOML file (--config or AUDITPIPE_CONFIG; an existing
teleport-event-handler.toml works), then AUDITPIPE_* variables, then flags. Every key is in
docs/config.md.

Flags:
`)
		fs.PrintDefaults()
	}
	fs.StringVar(&opts.configFile, "config", "", "TOML configuration `file` (default: $AUDITPIPE_CONFIG)")
	fs.Var(&sets, "set", "set a configuration `key=value`, as in the file (repeatable; wins over the file and the environment)")
	fs.StringVar(&opts.owner, "owner", "", "replica `id` in leases, unique per process, without #, { or } (default: $"+envOwner+", else <hostname>-<pid>)")
	// Shorthands for configuration keys of the same name; their values are read by Visit.
	fs.Bool("dry-run", false, "read and count events but publish nothing and move no cursor (--set dry-run=true)")
	fs.Bool("exit-on-last-event", false, "exit 0 once every event up to the start is exported (--set exit-on-last-event=true)")
	fs.String("start-time", "", "export events from this RFC 3339 `time` on; first start only (--set start-time=…)")
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
	// The shorthands win over --set.
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "dry-run", "exit-on-last-event", "start-time":
			settings[f.Name] = f.Value.String()
		}
	})
	opts.settings = settings
	if opts.owner == "" {
		opts.owner = ownerDefault(env)
	}
	return opts, nil
}

// ownerDefault returns the replica id when --owner is not given: AUDITPIPE_OWNER in env when
// set, else "<hostname>-<pid>".
func ownerDefault(env []string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, envOwner+"="); ok && v != "" {
			return v
		}
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "ingest"
	}
	return host + "-" + strconv.Itoa(os.Getpid())
}
