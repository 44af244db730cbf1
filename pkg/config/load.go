package config

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Sources are where [Load] reads the configuration from. The zero value loads the defaults.
type Sources struct {
	// File is the TOML file; when empty, AUDITPIPE_CONFIG in Env names it, and when that is
	// empty too there is no file.
	File string
	// Env is the environment as os.Environ returns it: "NAME=value" entries.
	Env []string
	// Flags maps dotted keys to values, as from [ParseSetFlags]; it overrides everything.
	Flags map[string]string
	// AllowEnv are more AUDITPIPE_* variables that name no key but belong to the caller
	// (a service's own flag, say), so that they are not reported as unknown.
	AllowEnv []string
}

// Load reads the configuration from src: defaults, then the file, then the environment, then
// the flags, each overriding the one before (see the package documentation).
//
// Load does not validate the result: call [Config.Validate] or [Config.ValidateFor]. It fails
// on what it cannot read: a missing file, TOML syntax, an unknown key or variable, a value of
// the wrong type, a URL with credentials. Its error joins every such [*Problem]. The warnings
// are for the caller to log; they are returned with or without an error.
func Load(src Sources) (*Config, []Warning, error) {
	env := parseEnviron(src.Env)
	path := cmp.Or(src.File, env[EnvConfig])
	var data []byte
	if path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return nil, nil, fmt.Errorf("config: %w", err)
		}
	}
	return load(path, data, env, src)
}

// load is Load after the file is read; data is nil when there is no file.
func load(path string, data []byte, env environ, src Sources) (*Config, []Warning, error) {
	ks, err := keys()
	if err != nil {
		return nil, nil, err
	}
	l := &loader{keys: ks, cfg: Default(), set: map[string]bool{}}
	if data != nil {
		l.applyFile(path, data)
	}
	l.applyEnv(env, src.AllowEnv)
	l.applyFlags(src.Flags)
	if err := l.problems.err(); err != nil {
		return nil, l.warnings, err
	}
	l.settle()
	return l.cfg, l.warnings, nil
}

// loader applies the layers to cfg, recording which keys a source set.
type loader struct {
	keys     *keySet
	cfg      *Config
	set      map[string]bool // keys set by the file, the environment or a flag
	problems problems
	warnings []Warning
}

func (l *loader) warn(source, key, message string) {
	l.warnings = append(l.warnings, Warning{Source: source, Key: key, Message: message})
}

// setString sets f from a string value; name is the key as the source spelled it.
func (l *loader) setString(source, name string, f *field, value string) {
	if err := f.setString(l.cfg, value); err != nil {
		l.problems.add(source, name, err.Error())
		return
	}
	l.set[f.key] = true
}

// applyFlags applies the flags layer.
func (l *loader) applyFlags(flags map[string]string) {
	names := make([]string, 0, len(flags))
	for name := range flags {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		path := strings.Split(name, ".")
		f := l.keys.lookup(path)
		switch {
		case f == nil && l.keys.isSection(path):
			l.problems.add("flags", name, "is a section, not a key")
			continue
		case f == nil:
			l.problems.add("flags", name, l.keys.unknownKey(path))
			continue
		}
		l.setString("flags", name, f, flags[name])
	}
}

// legacyKeys are teleport-event-handler's top-level keys that are not auditpipe keys, with
// the warning each gets. "debug" is handled apart: it sets log.level.
var legacyKeys = map[string]string{
	"storage": "ignored; auditpipe keeps its state in Redis",
	"cursor":  "ignored; auditpipe keeps its cursors in Redis (to start over, change start-time with auditpipectl)",
}

// fileProblem is a problem found in the file, with its line for ordering.
type fileProblem struct {
	line    int
	key     string
	message string
}

// fileLayer walks one TOML document.
type fileLayer struct {
	*loader
	path     string
	md       toml.MetaData
	found    []fileProblem
	debug    bool // the file says debug = true
	debugSet bool
}

// applyFile applies the file layer. TOML syntax errors stop it; every other problem in the
// file is reported with its line.
func (l *loader) applyFile(path string, data []byte) {
	var root map[string]toml.Primitive
	md, err := decodeTOML(data, &root)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			key := cmp.Or(pe.LastKey, "toml")
			l.problems.add(fmt.Sprintf("%s:%d:%d", path, pe.Position.Line, pe.Position.Col), key,
				"syntax error: "+sanitizeParseMessage(pe.Message))
			return
		}
		l.problems.add(path, "toml", "syntax error: "+sanitizeParseMessage(err.Error()))
		return
	}
	fl := &fileLayer{loader: l, path: path, md: md}
	fl.table(nil, root)
	if fl.debugSet && fl.debug && !l.set["log.level"] {
		l.cfg.Log.Level = "debug"
		l.set["log.level"] = true
	}
	slices.SortStableFunc(fl.found, func(a, b fileProblem) int {
		return cmp.Or(cmp.Compare(a.line, b.line), cmp.Compare(a.key, b.key))
	})
	for _, p := range fl.found {
		source := path
		if p.line > 0 {
			source = path + ":" + strconv.Itoa(p.line)
		}
		l.problems.add(source, p.key, p.message)
	}
}

// decodeTOML parses data into v. The parser reports internal failures by panicking; the
// loader must never panic, so such a failure becomes an error.
func decodeTOML(data []byte, v any) (md toml.MetaData, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.New("the TOML parser failed on this input")
		}
	}()
	return toml.Decode(string(data), v)
}

// table walks the table at path, in the order of the file.
func (fl *fileLayer) table(path []string, tbl map[string]toml.Primitive) {
	type entry struct {
		name string
		line int
	}
	entries := make([]entry, 0, len(tbl))
	for name, prim := range tbl {
		entries = append(entries, entry{name, fl.line(prim)})
	}
	slices.SortFunc(entries, func(a, b entry) int { return cmp.Or(cmp.Compare(a.line, b.line), cmp.Compare(a.name, b.name)) })
	for _, e := range entries {
		fl.entry(append(slices.Clone(path), e.name), tbl[e.name])
	}
	if len(tbl) == 0 && len(path) > 0 && !fl.keys.isSection(path) && fl.keys.lookup(path) == nil {
		fl.problem(nil, path, "unknown section")
	}
}

// entry handles one key of the file: a table to walk, a legacy key, a key to set, or an
// unknown key.
func (fl *fileLayer) entry(path []string, prim toml.Primitive) {
	var raw any
	if err := fl.md.PrimitiveDecode(prim, &raw); err != nil {
		fl.problem(&prim, path, "cannot read this value")
		return
	}
	key := strings.Join(path, ".")
	f := fl.keys.lookup(path)
	if len(path) == 1 {
		if msg, ok := legacyKeys[key]; ok {
			fl.warn(fl.source(prim), key, msg)
			return
		}
		if key == "debug" {
			fl.legacyDebug(prim, raw)
			return
		}
	}
	if _, isTable := raw.(map[string]any); isTable && f == nil {
		var sub map[string]toml.Primitive
		if err := fl.md.PrimitiveDecode(prim, &sub); err != nil {
			fl.problem(&prim, path, "cannot read this table")
			return
		}
		fl.table(path, sub)
		return
	}
	if f == nil {
		if fl.keys.isSection(path) {
			fl.problem(&prim, path, "is a section; want a table of keys, got "+describe(raw))
			return
		}
		fl.problem(&prim, path, fl.keys.unknownKey(path))
		return
	}
	if err := f.setTOML(fl.cfg, raw); err != nil {
		fl.problem(&prim, path, err.Error())
		return
	}
	fl.set[f.key] = true
}

// legacyDebug reads teleport-event-handler's debug key.
func (fl *fileLayer) legacyDebug(prim toml.Primitive, raw any) {
	switch v := raw.(type) {
	case bool:
		fl.debug = v
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			fl.problem(&prim, []string{"debug"}, "want true or false, got "+quote(v))
			return
		}
		fl.debug = b
	default:
		fl.problem(&prim, []string{"debug"}, "want true or false, got "+describe(raw))
		return
	}
	fl.debugSet = true
}

func (fl *fileLayer) problem(prim *toml.Primitive, path []string, message string) {
	line := 0
	if prim != nil {
		line = fl.line(*prim)
	}
	fl.found = append(fl.found, fileProblem{line: line, key: toml.Key(path).String(), message: message})
}

// source is "path:line" for prim, or the path when the line is unknown.
func (fl *fileLayer) source(prim toml.Primitive) string {
	if line := fl.line(prim); line > 0 {
		return fl.path + ":" + strconv.Itoa(line)
	}
	return fl.path
}

// errLine makes the decoder report where a value is.
var errLine = errors.New("line probe")

// lineProbe is a [toml.Unmarshaler] that always fails, so that the decoder wraps the failure
// in a [toml.ParseError] holding the value's position: BurntSushi/toml has no other public
// way to tell where a key is.
type lineProbe struct{}

func (lineProbe) UnmarshalTOML(any) error { return errLine }

// line returns the line of prim in the file, or 0 when unknown.
func (fl *fileLayer) line(prim toml.Primitive) int {
	var pe toml.ParseError
	if errors.As(fl.md.PrimitiveDecode(prim, &lineProbe{}), &pe) {
		return pe.Position.Line
	}
	return 0
}

// settle makes the loaded values consistent where one key implies another; see the field
// documentation of [Config].
func (l *loader) settle() {
	c := l.cfg
	if (l.set["redis.url"] || l.set["redis.addrs"] && len(c.Redis.Addrs) > 0) && !l.set["redis.addr"] {
		c.Redis.Addr = ""
	}
	if strings.HasPrefix(strings.ToLower(c.Redis.URL), "rediss://") {
		c.Redis.TLS.Enabled = true
	}
	if natsSecureURL(c.NATS.URL) {
		c.NATS.TLS.Enabled = true
	}
	if c.LockEnabled && !c.Shipper.HasSink(SinkLock) {
		c.Shipper.Sinks = append(c.Shipper.Sinks, SinkLock)
	}
	if c.Shipper.HasSink(SinkLock) {
		c.LockEnabled = true
	}
	if !l.set["forward.fluentd.max-connections"] {
		c.Forward.Fluentd.MaxConnections = 2 * min(c.Concurrency, math.MaxInt/2)
	}
	if !c.StartTime.IsZero() {
		c.StartTime = c.StartTime.UTC()
	}
	if c.Forward.Datadog.envAPIKey != nil && c.Forward.Datadog.APIKeyFile != "" {
		l.warn("env", EnvDatadogAPIKey, "set, so forward.datadog.api-key-file is not read")
	}
	for _, sink := range []string{SinkFluentd, SinkDatadog} {
		if !c.Shipper.HasSink(sink) && l.setUnder("forward."+sink+".") {
			l.warn("", "forward."+sink, "configured, but shipper.sinks does not run the "+sink+" sink")
		}
	}
}

// natsSecureURL reports whether one of the comma-separated NATS URLs in list is tls:// or
// wss://, which make the client use TLS.
func natsSecureURL(list string) bool {
	for raw := range strings.SplitSeq(list, ",") {
		scheme, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(raw)), "://")
		if scheme == "tls" || scheme == "wss" {
			return true
		}
	}
	return false
}

// setUnder reports whether a source set a key that starts with prefix.
func (l *loader) setUnder(prefix string) bool {
	for key := range l.set {
		if strings.HasPrefix(key, prefix) {
			return true
		}
	}
	return false
}
