package datadog

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV2"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/event"
)

// defaultSource is ddsource when forward.datadog.source is empty.
const defaultSource = "teleport"

// Datadog files a log at its date attribute when that is at most 18 hours old and at most 2
// hours ahead; the sink sets the date only inside a window an hour narrower in the past, so
// that a log still queued in Datadog's intake is not dated out of range.
const (
	datePast   = 17 * time.Hour
	dateFuture = 2 * time.Hour
	// dateLayout is ISO 8601 with milliseconds, Datadog's precision.
	dateLayout = "2006-01-02T15:04:05.000Z07:00"
)

// itemMaker turns events into log items. It is immutable, so safe for concurrent use.
type itemMaker struct {
	source, service, hostname *string // nil when the item leaves the field out
	tags                      string  // the configured tags, comma-joined, with a trailing comma when not empty
}

func newItemMaker(cfg config.Datadog) itemMaker {
	source := cfg.Source
	if source == "" {
		source = defaultSource
	}
	m := itemMaker{source: &source}
	if cfg.Service != "" {
		service := cfg.Service
		m.service = &service
	}
	if cfg.Hostname != "" {
		hostname := cfg.Hostname
		m.hostname = &hostname
	}
	for _, tag := range cfg.Tags {
		if tag != "" {
			m.tags += tagValue(tag) + ","
		}
	}
	return m
}

// item returns ev's log item, the message being its body, and the item's JSON size.
func (m itemMaker) item(ev event.Event, now time.Time) (datadogV2.HTTPLogItem, int) {
	return m.with(ev, string(ev.Body), "", now)
}

// with returns ev's log item with message and the extra tag, when not empty, and the item's
// JSON size: what it adds to the request body.
func (m itemMaker) with(ev event.Event, message, extraTag string, now time.Time) (datadogV2.HTTPLogItem, int) {
	var tags strings.Builder
	tags.Grow(len(m.tags) + len(ev.Type) + len(ev.Cluster) + len(extraTag) + 16)
	tags.WriteString(m.tags)
	tags.WriteString("event:")
	tags.WriteString(tagValue(ev.Type))
	if ev.Cluster != "" {
		tags.WriteString(",cluster:")
		tags.WriteString(tagValue(ev.Cluster))
	}
	if extraTag != "" {
		tags.WriteString(",")
		tags.WriteString(extraTag)
	}
	ddtags := tags.String()
	it := datadogV2.HTTPLogItem{
		Message:  message,
		Ddsource: m.source,
		Ddtags:   &ddtags,
		Service:  m.service,
		Hostname: m.hostname,
	}
	if !ev.Time.IsZero() && ev.Time.After(now.Add(-datePast)) && ev.Time.Before(now.Add(dateFuture)) {
		it.AdditionalProperties = map[string]any{"date": ev.Time.UTC().Format(dateLayout)}
	}
	return it, itemSize(it)
}

// itemSize is the length of it as SubmitLog encodes it (encoding/json, HTML escaping on), or
// a few bytes more (see jsonStringSize): counted, not encoded, as encoding every item twice
// would double the sink's CPU.
func itemSize(it datadogV2.HTTPLogItem) int {
	n := 1 + field("message", it.Message) + 1 // {…}
	optional := [...]struct {
		key   string
		value *string
	}{{"ddsource", it.Ddsource}, {"ddtags", it.Ddtags}, {"hostname", it.Hostname}, {"service", it.Service}}
	for _, f := range optional {
		if f.value != nil {
			n += 1 + field(f.key, *f.value)
		}
	}
	for key, value := range it.AdditionalProperties {
		s, ok := value.(string)
		if !ok {
			return MaxPayloadBytes // the sink sets string attributes only
		}
		n += 1 + field(key, s)
	}
	return n
}

// field is the length of "key":"value".
func field(key, value string) int {
	return jsonStringSize(key) + 1 + jsonStringSize(value)
}

// jsonStringSize is the length of s as a JSON string written by encoding/json, quotes
// included: '"', '\', '\n', '\r' and '\t' take 2 bytes; other control characters, '<', '>',
// '&', U+2028, U+2029 and each byte of invalid UTF-8 take 6 (\u0008, \ufffd, …). '\b' and
// '\f', which newer Go versions write in 2 bytes, are counted as 6: the size is never less
// than what is sent.
func jsonStringSize(s string) int {
	n := 2
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			switch {
			case b == '"' || b == '\\' || b == '\n' || b == '\r' || b == '\t':
				n += 2
			case b < 0x20 || b == '<' || b == '>' || b == '&':
				n += 6
			default:
				n++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == '\u2028' || r == '\u2029' {
			n += 6
		} else {
			n += size
		}
		i += size
	}
	return n
}

// tagValue makes s safe inside ddtags, a comma-separated list: commas and white space become
// "_". Datadog normalises the rest (case, other characters) itself.
func tagValue(s string) string {
	if !strings.ContainsAny(s, ", \t\r\n") {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case ',', ' ', '\t', '\r', '\n':
			return '_'
		}
		return r
	}, s)
}
