package config

import (
	"maps"
	"slices"
	"strings"
)

// unknownKey is the message for a key path that names no key: a hint where a secret goes, or
// the nearest keys (in the same section first), or nothing to suggest.
func (ks *keySet) unknownKey(path []string) string {
	leaf := path[len(path)-1]
	section := strings.Join(path[:len(path)-1], ".")
	if hint := secretHint(section, leaf); hint != "" {
		return "unknown key; " + hint
	}
	var siblings, all []string
	for _, f := range ks.fields {
		all = append(all, f.key)
		if strings.Join(f.path[:len(f.path)-1], ".") == section {
			siblings = append(siblings, f.path[len(f.path)-1])
		}
	}
	full := strings.Join(path, ".")
	var found []string
	s := nearest(leaf, siblings)
	if len(s) == 0 {
		s = extending(leaf, siblings) // lock-failed-attempts → lock-failed-attempts-count
	}
	for _, name := range s {
		found = append(found, joinKey(section, name))
	}
	if len(found) == 0 {
		found = withSuffix(all, "."+full) // [fluentd] url → forward.fluentd.url
	}
	if len(found) == 0 {
		found = nearest(full, all)
	}
	return "unknown key" + didYouMean(found)
}

// extending returns the names that extend name or that name extends, at a "-": "identity"
// for "identity-file", "lock-failed-attempts-count" for "lock-failed-attempts".
func extending(name string, names []string) []string {
	var found []string
	for _, n := range names {
		if (strings.HasPrefix(n, name+"-") || strings.HasPrefix(name, n+"-")) && len(found) < maxSuggestions {
			found = append(found, n)
		}
	}
	return found
}

// unknownEnv is the message for an AUDITPIPE_* variable that names no key.
func (ks *keySet) unknownEnv(name string) string {
	var all []string
	for _, f := range ks.fields {
		all = append(all, f.env)
	}
	all = append(all, notKeyEnv...)
	slices.Sort(all)
	rest := strings.TrimPrefix(name, envPrefix)
	var rests []string
	for _, n := range all {
		rests = append(rests, strings.TrimPrefix(n, envPrefix))
	}
	var found []string
	if s := withPrefix(all, name+"_"); len(s) > 0 {
		found = s // AUDITPIPE_REDIS_PASSWORD → AUDITPIPE_REDIS_PASSWORD_FILE
	} else if s := nearest(rest, rests); len(s) > 0 {
		for _, r := range s {
			found = append(found, envPrefix+r)
		}
	} else {
		found = withSuffix(all, "_"+rest) // AUDITPIPE_FLUENTD_URL → AUDITPIPE_FORWARD_FLUENTD_URL
	}
	msg := "unknown variable" + didYouMean(found)
	if strings.Contains(rest, "API_KEY") {
		msg += "; the Datadog API key comes from DD_API_KEY or a file"
	}
	return msg
}

// secretWords mark a key name that would hold a secret inline.
var secretWords = []string{"password", "passwd", "secret", "token", "api-key", "apikey", "credentials"}

// secretHint tells where a secret goes when leaf, in section, looks like an inline secret;
// otherwise it returns "".
func secretHint(section, leaf string) string {
	lower := strings.ToLower(leaf)
	if !slices.ContainsFunc(secretWords, func(w string) bool { return strings.Contains(lower, w) }) ||
		strings.HasSuffix(lower, "-file") {
		return ""
	}
	// The file key named after leaf (sentinel-password → sentinel-password-file) first, then
	// the section's others in order, so that the hint does not depend on map order.
	fileKeys := slices.Sorted(maps.Keys(secretFiles))
	if exact := joinKey(section, leaf) + "-file"; slices.Contains(fileKeys, exact) {
		fileKeys = append([]string{exact}, fileKeys...)
	}
	for _, fileKey := range fileKeys {
		if strings.HasPrefix(fileKey, section+".") && !strings.Contains(fileKey[len(section)+1:], ".") {
			hint := "secrets are never written in the configuration: use " + fileKey
			if fileKey == "forward.datadog.api-key-file" {
				hint += " or DD_API_KEY"
			}
			return hint
		}
	}
	return "secrets are never written in the configuration: they are read from files"
}

func didYouMean(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return " (did you mean " + names[0] + "?)"
	}
	return " (did you mean " + strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1] + "?)"
}

func joinKey(section, name string) string {
	if section == "" {
		return name
	}
	return section + "." + name
}

// maxSuggestions caps a did-you-mean list.
const maxSuggestions = 3

func withPrefix(names []string, prefix string) []string {
	var found []string
	for _, n := range names {
		if strings.HasPrefix(n, prefix) && len(found) < maxSuggestions {
			found = append(found, n)
		}
	}
	return found
}

func withSuffix(names []string, suffix string) []string {
	var found []string
	for _, n := range names {
		if strings.HasSuffix(n, suffix) && len(found) < maxSuggestions {
			found = append(found, n)
		}
	}
	return found
}

// nearest returns the names closest to target by edit distance, if close enough to be a
// likely typo: a distance of at most 1 for short names, 2 up to ten characters, 3 beyond.
func nearest(target string, names []string) []string {
	limit := 3
	switch {
	case len(target) <= 4:
		limit = 1
	case len(target) <= 10:
		limit = 2
	}
	best := limit + 1
	var found []string
	for _, n := range names {
		d := editDistance(strings.ToLower(target), strings.ToLower(n))
		switch {
		case d < best:
			best, found = d, []string{n}
		case d == best && len(found) < maxSuggestions:
			found = append(found, n)
		}
	}
	return found
}

// editDistance is the optimal string alignment distance between a and b: insertions,
// deletions, substitutions and transpositions of adjacent bytes each cost one.
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
