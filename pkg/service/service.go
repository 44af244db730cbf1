// Package service is what every auditpipe service process (auditpipe-ingest,
// auditpipe-shipper, auditpipe-admin) does around its engine: the process entry point and its
// exit codes, the command line every service shares (--config, --set, --version), loading and
// validating the configuration, the replica's id, the metrics registry and the health server
// on metrics.listen.
//
// A service's main package keeps what is its own: its flags and usage text, its clients, its
// engine and how the jobs of the process are wired together.
package service

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// RunFunc is a service's whole program, as Main calls it: args are the command-line arguments
// without the program name, env the environment as os.Environ gives it. It returns nil after a
// graceful stop (ctx ended), flag.ErrHelp after --help (the usage already printed), otherwise
// the error that stopped it.
type RunFunc func(ctx context.Context, args, env []string, stdout, stderr io.Writer) error

// Main runs run as the process program and does not return on failure. run's ctx ends on
// SIGINT or SIGTERM. The process exits 0 when run returns nil or flag.ErrHelp; on any other
// error Main prints "<program>: <error>" on stderr and exits 1.
func Main(program string, run RunFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr)
	stop()
	if code := exitCode(program, err, os.Stderr); code != 0 {
		os.Exit(code)
	}
}

// exitCode is the process's exit code after run returned err, printing the error to stderr
// when it is one.
func exitCode(program string, err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	default:
		fmt.Fprintln(stderr, program+":", err)
		return 1
	}
}

// PrintVersion writes what --version prints, "<program> <version> (<Go version>)", and a
// newline to w.
func PrintVersion(w io.Writer, program, version string) error {
	_, err := fmt.Fprintf(w, "%s %s (%s)\n", program, version, runtime.Version())
	return err
}

// EnvOwner names the environment variable that names a replica (a pod name, say): in the
// replicas register, its NATS connection and, for ingest, its leases. [LoadConfig] accepts it
// although it names no configuration key.
const EnvOwner = "AUDITPIPE_OWNER"

// hostname is os.Hostname; tests replace it.
var hostname = os.Hostname

// ReplicaID returns the id of this replica: the value of the first non-empty AUDITPIPE_OWNER
// in env (as os.Environ gives it), else "<hostname>-<pid>", where fallback stands for the host
// name when the system gives none. It does not check the id; what uses it does.
func ReplicaID(env []string, fallback string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, EnvOwner+"="); ok && v != "" {
			return v
		}
	}
	host, err := hostname()
	if err != nil || host == "" {
		host = fallback
	}
	return host + "-" + strconv.Itoa(os.Getpid())
}
