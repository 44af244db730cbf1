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

// envOwner names the environment variable that names this replica in the replicas register
// (a pod name, say); without it the replica is "<hostname>-<pid>".
const envOwner = "AUDITPIPE_OWNER"

// options is what the command line says.
type options struct {
	// configFile is --config; empty lets config.Load read AUDITPIPE_CONFIG.
	configFile string
	// settings are the configuration keys the flags set, for config.Sources.Flags.
	settings map[string]string
	// insecure is --insecure-dev-no-auth, which serves without authentication.
	insecure bool
	version  bool
}

// parseFlags parses args. --help prints the usage to stderr and returns flag.ErrHelp; other
// errors name the flag and never show a --set value.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	var (
		opts options
		sets config.SetFlags
		fs   = flag.NewFlagSet("auditpipe-admin", flag.ContinueOnError)
	)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: auditpipe-admin [flags]

auditpipe-admin serves the admin REST API (status, replays, start-time resets, pause and resume,
dead letters; docs/auditpipectl.md) on admin.listen, over the same Redis and JetStream state as
ingest and shipper. Any number of replicas may serve. It also serves /healthz, /readyz and
/metrics on metrics.listen, like every auditpipe service, and stops gracefully on SIGTERM or
SIGINT.

Authentication is required: bearer tokens in admin.tokens-file ("<read|admin> <token>" lines)
or client certificates (admin.tls.client-ca); it refuses to start with neither unless given
--insecure-dev-no-auth.

Configuration: defaults, then the TOML file (--config or AUDITPIPE_CONFIG), then AUDITPIPE_*
variables, then flags. Every key is in docs/config.md.

Flags:
`)
		fs.PrintDefaults()
	}
	fs.StringVar(&opts.configFile, "config", "", "TOML configuration `file` (default: $AUDITPIPE_CONFIG)")
	fs.Var(&sets, "set", "set a configuration `key=value`, as in the file (repeatable; wins over the file and the environment)")
	fs.String("listen", "", "serve the API on `addr`, [host]:port (--set admin.listen=…; default 127.0.0.1:8080)")
	fs.BoolVar(&opts.insecure, "insecure-dev-no-auth", false, "serve the API WITHOUT authentication, for development only (--set admin.insecure-no-auth=true)")
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
		case "listen":
			settings["admin.listen"] = f.Value.String()
		case "insecure-dev-no-auth":
			settings["admin.insecure-no-auth"] = f.Value.String()
		}
	})
	opts.settings = settings
	return opts, nil
}

// owner returns this replica's id in the replicas register: AUDITPIPE_OWNER in env when set,
// else "<hostname>-<pid>".
func owner(env []string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, envOwner+"="); ok && v != "" {
			return v
		}
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "admin"
	}
	return host + "-" + strconv.Itoa(os.Getpid())
}
