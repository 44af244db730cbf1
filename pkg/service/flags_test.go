package service

import (
	"bytes"
	"errors"
	"flag"
	"maps"
	"strings"
	"testing"
)

const testUsage = "Usage: auditpipe-x [flags]\n\nauditpipe-x does x.\n\nFlags:\n"

// newTestFlags is a service's command line: --listen, --dry-run and --sinks (into a variable)
// are shorthands of configuration keys, --owner is not.
func newTestFlags(out *bytes.Buffer) (*Flags, *string) {
	f := NewFlags("auditpipe-x", testUsage, out)
	var owner string
	f.Set.StringVar(&owner, "owner", "", "replica `id`")
	f.Set.String("listen", "", "serve on `addr`")
	f.Set.Bool("dry-run", false, "send nothing")
	var sinks string
	f.Set.StringVar(&sinks, "sinks", "", "the `sinks`")
	f.Shorthand("listen", "x.listen")
	f.Shorthand("dry-run", "dry-run")
	f.Shorthand("sinks", "shipper.sinks")
	return f, &owner
}

func TestFlags(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		want        map[string]string
		wantConfig  string
		wantVersion bool
		wantOwner   string
		wantIs      error
		wantErr     string // in the error
		wantOut     []string
		hidden      string // in neither the error nor the output
	}{
		{name: "none", want: map[string]string{}},
		{
			name: "config, owner and version",
			args: []string{"--config", "/etc/x.toml", "--owner", "r1", "--version"},
			want: map[string]string{}, wantConfig: "/etc/x.toml", wantOwner: "r1", wantVersion: true,
		},
		{
			name: "set is repeatable, a later key wins",
			args: []string{"--set", "batch=5", "--set", "types=a,b", "--set", "batch=6", "--set", "empty="},
			want: map[string]string{"batch": "6", "types": "a,b", "empty": ""},
		},
		{
			name: "shorthands set their keys and win over set",
			args: []string{"--listen", ":2", "--set", "x.listen=:1", "--dry-run", "--set", "dry-run=false", "--sinks", "a,b"},
			want: map[string]string{"x.listen": ":2", "dry-run": "true", "shipper.sinks": "a,b"},
		},
		{name: "a shorthand set to false", args: []string{"--dry-run=false"}, want: map[string]string{"dry-run": "false"}},
		{name: "a flag that is not a shorthand sets no key", args: []string{"--owner", "r2"}, want: map[string]string{}, wantOwner: "r2"},
		{
			name: "help prints the usage with every flag", args: []string{"-h"}, wantIs: flag.ErrHelp,
			wantOut: []string{testUsage, "-config file", "TOML configuration file (default: $AUDITPIPE_CONFIG)",
				"-set key=value", "-version", "-owner id", "-listen addr", "-dry-run", "-sinks sinks"},
		},
		{name: "unknown flag", args: []string{"--batch", "5"}, wantErr: "flag provided but not defined: -batch"},
		{
			name: "an argument", args: []string{"run"},
			wantErr: `unexpected argument "run": every setting is a flag (see --help)`, wantOut: []string{testUsage},
		},
		{name: "set without =", args: []string{"--set", "x.listen=:1", "--set", "hunter2"}, wantErr: "--set argument 2: want key=value", hidden: "hunter2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			f, owner := newTestFlags(&out)
			got, err := f.Parse(tt.args)
			switch {
			case tt.wantIs != nil:
				if !errors.Is(err, tt.wantIs) {
					t.Fatalf("Parse = %v, want %v", err, tt.wantIs)
				}
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse = %v, want an error with %q", err, tt.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			default:
				if !maps.Equal(got, tt.want) {
					t.Errorf("settings %v, want %v", got, tt.want)
				}
				if f.ConfigFile != tt.wantConfig || f.Version != tt.wantVersion || *owner != tt.wantOwner {
					t.Errorf("config %q, version %t, owner %q; want %q, %t, %q",
						f.ConfigFile, f.Version, *owner, tt.wantConfig, tt.wantVersion, tt.wantOwner)
				}
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if tt.hidden != "" && (strings.Contains(out.String(), tt.hidden) || strings.Contains(err.Error(), tt.hidden)) {
				t.Errorf("%q shown: %v\n%s", tt.hidden, err, out.String())
			}
		})
	}
}

func TestShorthandOfAnUndefinedFlagPanics(t *testing.T) {
	f := NewFlags("auditpipe-x", testUsage, &bytes.Buffer{})
	defer func() {
		if recover() == nil {
			t.Error("Shorthand of an undefined flag did not panic")
		}
	}()
	f.Shorthand("listn", "x.listen")
}
