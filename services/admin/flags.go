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
	// insecure is --insecure-dev-no-auth, which serves without authentication.
	insecure bool
	version  bool
}

// usage is the text of --help before the flags.
const usage = `Usage: auditpipe-admin [flags]

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
`

// parseFlags parses args. --help prints the usage to stderr and returns flag.ErrHelp; other
// errors name the flag and never show a --set value.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	var opts options
	f := service.NewFlags(program, usage, stderr)
	f.Set.String("listen", "", "serve the API on `addr`, [host]:port (--set admin.listen=…; default 127.0.0.1:8080)")
	f.Set.BoolVar(&opts.insecure, "insecure-dev-no-auth", false, "serve the API WITHOUT authentication, for development only (--set admin.insecure-no-auth=true)")
	f.Shorthand("listen", "admin.listen")
	f.Shorthand("insecure-dev-no-auth", "admin.insecure-no-auth")

	settings, err := f.Parse(args)
	if err != nil {
		return options{}, err
	}
	opts.configFile, opts.settings, opts.version = f.ConfigFile, settings, f.Version
	return opts, nil
}
