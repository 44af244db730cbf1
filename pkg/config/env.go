package config

import (
	"slices"
	"strings"
)

// Environment variables that are not keys.
const (
	// EnvConfig names the TOML file when [Sources.File] is empty.
	EnvConfig = "AUDITPIPE_CONFIG"
	// EnvAdminURL and EnvAdminToken tell auditpipectl where the admin API is and how to
	// authenticate; services ignore them.
	EnvAdminURL   = "AUDITPIPE_ADMIN_URL"
	EnvAdminToken = "AUDITPIPE_ADMIN_TOKEN"
	// EnvDatadogAPIKey is the Datadog API key; it takes precedence over
	// forward.datadog.api-key-file.
	EnvDatadogAPIKey = "DD_API_KEY"
	// EnvDatadogSite sets forward.datadog.site, below AUDITPIPE_FORWARD_DATADOG_SITE.
	EnvDatadogSite = "DD_SITE"
)

// notKeyEnv are the AUDITPIPE_* variables that name no key and are not errors.
var notKeyEnv = []string{EnvConfig, EnvAdminURL, EnvAdminToken}

// environ is an environment as os.Getenv sees it: the first of duplicate names wins.
type environ map[string]string

func parseEnviron(list []string) environ {
	env := environ{}
	for _, kv := range list {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			continue
		}
		if _, seen := env[name]; !seen {
			env[name] = value
		}
	}
	return env
}

// sortedNames returns the names of env, sorted, for a stable order of problems.
func (env environ) sortedNames() []string {
	names := make([]string, 0, len(env))
	for name := range env {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// applyEnv applies the environment layer: DD_SITE, then every AUDITPIPE_* variable, and keeps
// DD_API_KEY for [Datadog.APIKey]. allow are more AUDITPIPE_* names that are not keys.
func (l *loader) applyEnv(env environ, allow []string) {
	if site := env[EnvDatadogSite]; site != "" {
		// Not recorded as set: DD_SITE is often there for the Datadog agent, and does not
		// mean the datadog sink is configured.
		if err := l.keys.byKey["forward.datadog.site"].setString(l.cfg, site); err != nil {
			l.problems.add("env", EnvDatadogSite, err.Error())
		}
	}
	if key := env[EnvDatadogAPIKey]; key != "" {
		l.cfg.Forward.Datadog.envAPIKey = &Secret{value: key}
	}
	for _, name := range env.sortedNames() {
		switch {
		case strings.HasPrefix(name, envPrefix):
			if slices.Contains(notKeyEnv, name) || slices.Contains(allow, name) {
				continue
			}
			f, ok := l.keys.byEnv[name]
			if !ok {
				l.problems.add("env", name, l.keys.unknownEnv(name))
				continue
			}
			l.setString("env", name, f, env[name])
		case strings.HasPrefix(name, "FDFWD_") || strings.HasPrefix(name, "FDWRD_"):
			l.warn("env", name, l.teleportEventHandlerEnv(name))
		}
	}
}

// teleportEventHandlerEnv is the warning for one of teleport-event-handler's FDFWD_*
// variables (some of which it spelled FDWRD_*), which auditpipe does not read.
func (l *loader) teleportEventHandlerEnv(name string) string {
	rest := name[len("FDFWD_"):]
	if r, ok := strings.CutPrefix(rest, "FLUENTD_"); ok {
		rest = "FORWARD_FLUENTD_" + r
	}
	msg := "teleport-event-handler's variable; auditpipe does not read it"
	if _, ok := l.keys.byEnv[envPrefix+rest]; ok {
		msg += " (use " + envPrefix + rest + ")"
	}
	return msg
}
