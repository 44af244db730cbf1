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
