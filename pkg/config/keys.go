package config

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"
)

// kind is how a key's value is written and read.
type kind int

const (
	kindString   kind = iota // a string
	kindInt                  // an integer
	kindBool                 // true or false
	kindDuration             // a Go duration string: "10s"
	kindTime                 // an RFC 3339 time
	kindList                 // a list of strings, or one comma-separated string
	kindSize                 // a byte count: an integer or "10GiB"
)

// field is one key: a leaf of the Config tree.
type field struct {
	key   string   // dotted TOML path: "forward.fluentd.url"
	path  []string // the same, split
	env   string   // AUDITPIPE_FORWARD_FLUENTD_URL
	kind  kind
	index []int // reflect index path from Config
}

// keySet is every key of Config, derived from its `toml` tags: the struct is the one source
// of truth for names, and the env mapping is checked to be one to one.
type keySet struct {
	fields   []*field          // in Config's field order
	byKey    map[string]*field // by dotted key
	byEnv    map[string]*field // by environment variable
	sections map[string]bool   // dotted paths of the tables: "teleport", "forward.fluentd"
}

// keys returns the key set of Config, built once.
var keys = sync.OnceValues(func() (*keySet, error) {
	ks := &keySet{
		byKey:    map[string]*field{},
		byEnv:    map[string]*field{},
		sections: map[string]bool{},
	}
	if err := ks.add(reflect.TypeFor[Config](), nil, nil); err != nil {
		return nil, err
	}
	return ks, nil
})

var (
	durationType = reflect.TypeFor[time.Duration]()
	timeType     = reflect.TypeFor[time.Time]()
	sizeType     = reflect.TypeFor[ByteSize]()
	listType     = reflect.TypeFor[[]string]()
)

// add walks the struct type t found at path (index in Config) and records its keys.
func (ks *keySet) add(t reflect.Type, path []string, index []int) error {
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("toml"), ",")
		if name == "" || name == "-" || !sf.IsExported() {
			continue
		}
		p := append(append([]string{}, path...), name)
		idx := append(append([]int{}, index...), i)
		key := strings.Join(p, ".")
		if sf.Type.Kind() == reflect.Struct && sf.Type != timeType {
			ks.sections[key] = true
			if err := ks.add(sf.Type, p, idx); err != nil {
				return err
			}
			continue
		}
		k, err := kindOf(sf.Type)
		if err != nil {
			return fmt.Errorf("config: key %s: %w", key, err)
		}
		f := &field{key: key, path: p, env: envName(key), kind: k, index: idx}
		if other, ok := ks.byEnv[f.env]; ok {
			return fmt.Errorf("config: keys %s and %s share the variable %s", other.key, key, f.env)
		}
		ks.fields = append(ks.fields, f)
		ks.byKey[key] = f
		ks.byEnv[f.env] = f
	}
	return nil
}

func kindOf(t reflect.Type) (kind, error) {
	switch {
	case t == durationType:
		return kindDuration, nil
	case t == timeType:
		return kindTime, nil
	case t == sizeType:
		return kindSize, nil
	case t == listType:
		return kindList, nil
	}
	switch t.Kind() {
	case reflect.String:
		return kindString, nil
	case reflect.Int:
		return kindInt, nil
	case reflect.Bool:
		return kindBool, nil
	}
	return 0, fmt.Errorf("unsupported type %s", t)
}

// envPrefix starts every environment variable that names a key.
const envPrefix = "AUDITPIPE_"

// envName is the environment variable of a dotted key.
func envName(key string) string {
	return envPrefix + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
}

// value is the reflect.Value of f inside c, settable.
func (f *field) value(c *Config) reflect.Value {
	return reflect.ValueOf(c).Elem().FieldByIndex(f.index)
}

// isSection reports whether path names a table of Config.
func (ks *keySet) isSection(path []string) bool {
	key, ok := dotted(path)
	return ok && ks.sections[key]
}

// lookup returns the key at path, or nil.
func (ks *keySet) lookup(path []string) *field {
	key, ok := dotted(path)
	if !ok {
		return nil
	}
	return ks.byKey[key]
}

// dotted joins path with dots. It fails for a path that no key has: an empty piece, or a
// piece with a dot in it (a quoted TOML key such as "forward.fluentd".url).
func dotted(path []string) (string, bool) {
	for _, p := range path {
		if p == "" || strings.Contains(p, ".") {
			return "", false
		}
	}
	return strings.Join(path, "."), true
}
