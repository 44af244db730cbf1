package config

import (
	"fmt"
	"strings"
)

// ParseSetFlags turns "key=value" arguments, as given to a repeatable --set flag, into
// [Sources.Flags]. The key is trimmed; the value is kept as written; a later argument for the
// same key wins. Keys are checked by [Load], not here. An error never shows a value.
func ParseSetFlags(args []string) (map[string]string, error) {
	flags := make(map[string]string, len(args))
	for i, arg := range args {
		key, value, ok := strings.Cut(arg, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			return nil, fmt.Errorf("config: --set argument %d: want key=value", i+1)
		}
		flags[key] = value
	}
	return flags, nil
}

// SetFlags is a repeatable --set flag (a flag.Value): each argument is one "key=value", kept
// in order for [ParseSetFlags].
type SetFlags []string

// String shows only the keys: a value may be a secret's file name or worse.
func (s *SetFlags) String() string {
	keys := make([]string, len(*s))
	for i, arg := range *s {
		keys[i], _, _ = strings.Cut(arg, "=")
	}
	return strings.Join(keys, ",")
}

// Set appends one argument.
func (s *SetFlags) Set(arg string) error {
	*s = append(*s, arg)
	return nil
}
