package service

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"
)

func TestExitCode(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		want     int
		wantErrs string // on stderr
	}{
		{name: "graceful stop", err: nil, want: 0},
		{name: "help", err: flag.ErrHelp, want: 0},
		{name: "help, wrapped", err: fmt.Errorf("parse: %w", flag.ErrHelp), want: 0},
		{name: "failure", err: errors.New("redis: PING x: refused"), want: 1, wantErrs: "auditpipe-x: redis: PING x: refused\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if got := exitCode("auditpipe-x", tt.err, &stderr); got != tt.want {
				t.Errorf("exitCode = %d, want %d", got, tt.want)
			}
			if stderr.String() != tt.wantErrs {
				t.Errorf("stderr %q, want %q", stderr.String(), tt.wantErrs)
			}
		})
	}
}

func TestPrintVersion(t *testing.T) {
	var out bytes.Buffer
	if err := PrintVersion(&out, "auditpipe-x", "v1.2.3"); err != nil {
		t.Fatal(err)
	}
	if want := "auditpipe-x v1.2.3 (" + runtime.Version() + ")\n"; out.String() != want {
		t.Errorf("PrintVersion wrote %q, want %q", out.String(), want)
	}
}

// Not parallel: some cases replace hostname.
func TestReplicaID(t *testing.T) {
	pid := "-" + strconv.Itoa(os.Getpid())
	tests := []struct {
		name     string
		env      []string
		hostname func() (string, error)
		want     string
	}{
		{name: "the variable", env: []string{"HOME=/root", "AUDITPIPE_OWNER=pod-1"}, want: "pod-1"},
		{name: "the first non-empty one", env: []string{"AUDITPIPE_OWNER=", "AUDITPIPE_OWNER=pod-2", "AUDITPIPE_OWNER=pod-3"}, want: "pod-2"},
		{name: "the value as it is", env: []string{"AUDITPIPE_OWNER=a=b c"}, want: "a=b c"},
		{name: "no variable: host and pid", env: []string{"AUDITPIPE_OWNERS=x", "OWNER=y"}, want: "node-7" + pid},
		{name: "empty: host and pid", env: []string{"AUDITPIPE_OWNER="}, want: "node-7" + pid},
		{name: "nil env", want: "node-7" + pid},
		{
			name:     "no host name: the fallback",
			hostname: func() (string, error) { return "", errors.New("uname failed") },
			want:     "shipper" + pid,
		},
		{name: "an empty host name: the fallback", hostname: func() (string, error) { return "", nil }, want: "shipper" + pid},
	}
	defer func(h func() (string, error)) { hostname = h }(hostname)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hostname = func() (string, error) { return "node-7", nil }
			if tt.hostname != nil {
				hostname = tt.hostname
			}
			if got := ReplicaID(tt.env, "shipper"); got != tt.want {
				t.Errorf("ReplicaID(%q) = %q, want %q", tt.env, got, tt.want)
			}
		})
	}
}
