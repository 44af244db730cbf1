// Command auditpipectl operates auditpipe: it writes a first configuration (configure),
// checks configuration files (validate-config), and drives the admin API of auditpipe-admin:
// status, replays, start-time resets, pausing ingest, and the dead-letter queue.
//
//	auditpipectl configure ./auditpipe-config teleport.example.com:443 --cn fluentd.example.com
//	auditpipectl --token-file admin.token status
//	auditpipectl replay --from -72h --to now --wait
//
// The API's address is --server or AUDITPIPE_ADMIN_URL (default http://127.0.0.1:8080); the
// bearer token is read from --token-file or taken from AUDITPIPE_ADMIN_TOKEN, and never
// printed. docs/auditpipectl.md describes every verb.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
)

// version is the release, set at build time with -ldflags "-X main.version=…".
var version = "dev"

// usageError is a command line that does not parse; the exit status is 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr)
	stop()
	os.Exit(exitStatus(err, os.Stderr))
}

// exitStatus prints err (when not nil) and returns the process's exit status: 0 without an
// error, 2 for a command line that does not parse, 1 for every other failure.
func exitStatus(err error, stderr io.Writer) int {
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "auditpipectl: %v\nRun auditpipectl --help for the verbs and flags.\n", ue.err)
		return 2
	default:
		fmt.Fprintln(stderr, "auditpipectl:", err)
		return 1
	}
}

// run is the whole program with the defaults of a real run: the system clock and DNS.
func run(ctx context.Context, args, env []string, stdout, stderr io.Writer) error {
	return newApp(env, stdout, stderr).run(ctx, args)
}

// app is what every verb works with: where to write, the environment, the clock, and the
// DNS resolver of configure. Tests replace the clock and the resolver.
type app struct {
	stdout, stderr io.Writer
	env            map[string]string
	now            func() time.Time
	resolver       hostResolver
	// globals are the global flags, set by the parse.
	globals *globals
	// ctx is the run's context; verbs end early when it ends.
	ctx context.Context
}

func newApp(env []string, stdout, stderr io.Writer) *app {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			if _, seen := m[k]; !seen {
				m[k] = v
			}
		}
	}
	return &app{stdout: stdout, stderr: stderr, env: m, now: time.Now, resolver: net.DefaultResolver}
}

// exitRequest is kong asking to exit (after --help or --version), caught by run.
type exitRequest int

// run parses args and runs the verb they name.
func (a *app) run(ctx context.Context, args []string) (err error) {
	a.ctx = ctx
	var c cli
	parser, err := kong.New(&c,
		kong.Name("auditpipectl"),
		kong.Description("Operate auditpipe: configure it, check its configuration, and drive its admin API "+
			"(status, replays, start-time resets, pause/resume, dead letters). docs/auditpipectl.md has examples."),
		kong.Writers(a.stdout, a.stderr),
		kong.Exit(func(code int) { panic(exitRequest(code)) }),
		kong.Vars{"version": "auditpipectl " + version + " (" + runtime.Version() + ")"},
		// Relative times such as --from -72h.
		kong.WithHyphenPrefixedParameters(true),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true, NoExpandSubcommands: false}),
		kong.Bind(a),
	)
	if err != nil {
		return fmt.Errorf("internal: %w", err)
	}
	defer func() {
		if r := recover(); r != nil {
			code, ok := r.(exitRequest)
			if !ok {
				panic(r)
			}
			if code != 0 {
				err = &usageError{fmt.Errorf("exit %d", int(code))}
			} else {
				err = nil
			}
		}
	}()
	kctx, err := parser.Parse(args)
	if err != nil {
		return &usageError{err}
	}
	a.globals = &c.globals
	return kctx.Run()
}

// cli is the command line: the global flags and one field per verb. The verb names are a
// contract with users' scripts.
type cli struct {
	globals

	Version kong.VersionFlag `help:"Print the version and exit."`

	Configure      configureCmd      `cmd:"" help:"Write mTLS certificates for Fluentd, the Teleport role and user, fluent.conf, auditpipe.toml, a compose .env and Helm values."`
	Status         statusCmd         `cmd:"" help:"Show where export stands: ingest, windows, lag, stream, consumers, dead letters, replays, replicas."`
	Replay         replayCmd         `cmd:"" help:"Export a past time range again, to every sink or the ones named."`
	Replays        replaysCmd        `cmd:"" help:"List replays, newest first."`
	Cancel         cancelCmd         `cmd:"" help:"Cancel an active replay."`
	ResetStartTime resetStartTimeCmd `cmd:"" name:"reset-start-time" help:"Start a new epoch: export again from a new start time (what deleting teleport-event-handler's storage did)."`
	Pause          pauseCmd          `cmd:"" help:"Pause ingest: replicas stop claiming windows; the tail stops moving."`
	Resume         resumeCmd         `cmd:"" help:"Resume ingest."`
	DLQ            dlqCmd            `cmd:"" name:"dlq" help:"List, redrive and delete dead letters."`
	ValidateConfig validateConfigCmd `cmd:"" name:"validate-config" help:"Check a configuration for ingest, shipper and admin; print every problem."`
	Demo           demoCmd           `cmd:"" help:"Run the whole pipeline on this machine with no set-up (teleport-sim, NATS, Redis, ingest, shippers, a local Fluentd, the admin API) and show events flowing."`
}
