package event

import "strings"

// SubjectPrefix is the first token of every event subject on the stream.
const SubjectPrefix = "teleport"

// Subject is the JetStream subject of the event: teleport.audit.<type> or
// teleport.session.<type>. Teleport types are dotted ("session.start"), which gives one subject
// token per part, so consumers can filter on e.g. teleport.audit.session.>. Characters that NATS
// subjects do not allow, and empty parts, are replaced by "_"; an empty type is "unknown".
func (e Event) Subject() string {
	return SubjectPrefix + "." + string(e.Kind) + "." + subjectTokens(e.Type)
}

func subjectTokens(typ string) string {
	if typ == "" {
		return "unknown"
	}
	parts := strings.Split(typ, ".")
	for i, p := range parts {
		p = strings.Map(func(r rune) rune {
			switch {
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
				return r
			}
			return '_'
		}, p)
		if p == "" {
			p = "_"
		}
		parts[i] = p
	}
	return strings.Join(parts, ".")
}
