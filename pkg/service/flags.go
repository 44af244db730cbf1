package service

import (
	"flag"
	"fmt"
	"io"

	"github.com/auditpipe/auditpipe/pkg/config"
)

// Flags is the command line every auditpipe service has: --config, --set (repeatable) and
// --version, on a flag set to which the service adds its own flags.
//
//	f := service.NewFlags("auditpipe-x", usage, stderr)
//	f.Set.String("listen", "", "…")
//	f.Shorthand("listen", "x.listen")
//	settings, err := f.Parse(args)
type Flags struct {
	// Set is the flag set, named after the program and continuing on errors; the service
	// defines its own flags on it before Parse.
	Set *flag.FlagSet
	// ConfigFile is --config, set by Parse; empty lets config.Load read AUDITPIPE_CONFIG.
	ConfigFile string
	// Version is --version, set by Parse: the service prints its version (PrintVersion) and
	// exits.
	Version bool

	sets       config.SetFlags
	shorthands map[string]string // flag name → configuration key
}

// NewFlags returns the flag set of program with --config, --set and --version defined. Errors
// and the usage go to output; the usage is usage as it is (from "Usage: …" to a last line such
// as "Flags:"), then the flags' defaults.
func NewFlags(program, usage string, output io.Writer) *Flags {
	f := &Flags{Set: flag.NewFlagSet(program, flag.ContinueOnError), shorthands: map[string]string{}}
	fs := f.Set
	fs.SetOutput(output)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	fs.StringVar(&f.ConfigFile, "config", "", "TOML configuration `file` (default: $"+config.EnvConfig+")")
	fs.Var(&f.sets, "set", "set a configuration `key=value`, as in the file (repeatable; wins over the file and the environment)")
	fs.BoolVar(&f.Version, "version", false, "print the version and exit")
	return f
}

// Shorthand makes the flag name, which the service defined on Set, a shorthand for the
// configuration key: when the flag is given, Parse sets key to its value (flag.Value.String),
// over any --set of key. It panics if Set has no flag name, as flag does for a flag defined
// twice.
func (f *Flags) Shorthand(name, key string) {
	if f.Set.Lookup(name) == nil {
		panic("service: Shorthand of undefined flag -" + name)
	}
	f.shorthands[name] = key
}

// Parse parses args (without the program name) and returns the configuration keys that the
// flags set, for config.Sources.Flags: the --set pairs, a later one winning, then the
// shorthands given. --help and -h print the usage and return flag.ErrHelp. An argument that is
// not a flag prints the usage and is an error; so is a --set without "=". No error shows a
// --set value.
func (f *Flags) Parse(args []string) (map[string]string, error) {
	fs := f.Set
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return nil, fmt.Errorf("unexpected argument %q: every setting is a flag (see --help)", fs.Arg(0))
	}
	settings, err := config.ParseSetFlags(f.sets)
	if err != nil {
		return nil, err
	}
	fs.Visit(func(fl *flag.Flag) {
		if key, ok := f.shorthands[fl.Name]; ok {
			settings[key] = fl.Value.String()
		}
	})
	return settings, nil
}
