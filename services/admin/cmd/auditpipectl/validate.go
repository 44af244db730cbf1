package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/auditpipe/auditpipe/pkg/config"
)

// validateConfigCmd is `auditpipectl validate-config`.
type validateConfigCmd struct {
	Config  string   `help:"The TOML file (default: $AUDITPIPE_CONFIG; none: defaults and AUDITPIPE_* variables only)." placeholder:"FILE" type:"path"`
	Service string   `enum:"ingest,shipper,admin,all" default:"all" help:"The service to check for: ingest, shipper, admin or all."`
	Set     []string `help:"Set a key=value, as the services' --set does (repeatable)." placeholder:"KEY=VALUE"`
}

// errInvalid is the error of a configuration with problems; they are already printed.
var errInvalid = errors.New("the configuration has problems")

func (c *validateConfigCmd) Run(a *app) error {
	flags, err := config.ParseSetFlags(c.Set)
	if err != nil {
		return err
	}
	env := make([]string, 0, len(a.env))
	for k, v := range a.env {
		env = append(env, k+"="+v)
	}
	slices.Sort(env)
	cfg, warnings, err := config.Load(config.Sources{
		File:  c.Config,
		Env:   env,
		Flags: flags,
		// The services' own variable, not a key.
		AllowEnv: []string{"AUDITPIPE_OWNER"},
	})
	for _, w := range warnings {
		fmt.Fprintf(a.stdout, "warning: %s\n", w)
	}
	if err != nil {
		n := printProblems(a, "", err)
		return fmt.Errorf("%w: %d, the file or environment could not be loaded", errInvalid, n)
	}
	services := []config.Service{config.ServiceIngest, config.ServiceShipper, config.ServiceAdmin}
	if c.Service != "all" {
		services = []config.Service{config.Service(c.Service)}
	}
	// A problem every service shares (nats.url, say) is printed once, for all of them.
	var (
		order []string
		who   = map[string][]string{}
	)
	for _, svc := range services {
		for _, p := range problems(cfg.ValidateFor(svc)) {
			if _, seen := who[p]; !seen {
				order = append(order, p)
			}
			who[p] = append(who[p], string(svc))
		}
	}
	names := make([]string, len(services))
	for i, s := range services {
		names[i] = string(s)
	}
	if len(order) == 0 {
		fmt.Fprintf(a.stdout, "ok: valid for %s\n", strings.Join(names, ", "))
		return nil
	}
	for _, p := range order {
		prefix := ""
		if len(services) > 1 && len(who[p]) < len(services) {
			prefix = "[" + strings.Join(who[p], ",") + "] "
		}
		fmt.Fprintf(a.stdout, "%s%s\n", prefix, p)
	}
	return fmt.Errorf("%w: %d for %s", errInvalid, len(order), strings.Join(names, ", "))
}

// printProblems prints each problem of err on its own line and returns how many.
func printProblems(a *app, prefix string, err error) int {
	ps := problems(err)
	for _, p := range ps {
		fmt.Fprintf(a.stdout, "%s%s\n", prefix, p)
	}
	return len(ps)
}

// problems returns the text of each problem joined in err (one per *config.Problem), or of
// err itself when it joins none.
func problems(err error) []string {
	if err == nil {
		return nil
	}
	var out []string
	var walk func(error)
	walk = func(e error) {
		if p, ok := e.(*config.Problem); ok {
			out = append(out, p.Error())
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, inner := range j.Unwrap() {
				walk(inner)
			}
			return
		}
		out = append(out, e.Error())
	}
	walk(err)
	return out
}
