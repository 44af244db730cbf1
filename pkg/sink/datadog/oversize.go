package datadog

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/auditpipe/auditpipe/pkg/event"
)

// ReasonOversize starts the Reason of an event whose log item is over [MaxItemBytes]. The
// event is Rejected — the shipper puts the full event in the dead-letter queue and
// terminates it — only after Datadog accepted a marked, truncated record in its place (see
// the package documentation). A shipper tells these apart from other rejections with
// strings.HasPrefix(r.Reason, ReasonOversize).
const ReasonOversize = "datadog: oversize event"

const (
	// MarkerField is the field of a truncated record's message that marks it and describes
	// what was left out (see [Truncation]).
	MarkerField = "auditpipe_truncated"
	// MarkerTag is the tag a truncated record carries beside the event's tags.
	MarkerTag = "auditpipe_truncated:true"
)

// Bounds of a truncated record: each kept field's JSON is at most keptFieldBytes, all kept
// fields at most keptBytes, and at most omittedNames names of left-out fields are listed,
// each cut to nameBytes.
const (
	keptFieldBytes = 4 << 10
	keptBytes      = 64 << 10
	omittedNames   = 50
	nameBytes      = 100
)

// envelopeFields are kept first, in this order: they identify the event in Datadog.
var envelopeFields = []string{"event", "uid", "time", "code", "cluster_name", "user", "sid", "ei"}

// Truncation is the value of [MarkerField] in a truncated record.
type Truncation struct {
	// OriginalBytes is the size of the full event body.
	OriginalBytes int `json:"original_bytes"`
	// Omitted are the names of top-level fields left out (at most 50), OmittedCount how many
	// were left out in all.
	Omitted      []string `json:"omitted_fields"`
	OmittedCount int      `json:"omitted_count"`
	// DeadLetter says the full event goes to auditpipe's dead-letter queue.
	DeadLetter bool `json:"dead_letter"`
}

// truncatedMessage returns the message of the record that stands in Datadog for an oversize
// ev: a JSON object holding ev's top-level fields whose JSON is small — the envelope fields
// first, then the others by name, within the bounds above — and MarkerField. A body that is
// not a JSON object contributes the envelope fields parsed from it.
func truncatedMessage(ev event.Event) string {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(ev.Body, &fields); err != nil || fields == nil {
		fields = parsedEnvelope(ev)
	}
	delete(fields, MarkerField)
	names := make([]string, 0, len(fields))
	for name := range fields {
		if !slices.Contains(envelopeFields, name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	names = append(slices.DeleteFunc(slices.Clone(envelopeFields), func(n string) bool {
		_, ok := fields[n]
		return !ok
	}), names...)

	kept := make(map[string]json.RawMessage)
	mark := Truncation{OriginalBytes: len(ev.Body), Omitted: []string{}, DeadLetter: true}
	used := 0
	for _, name := range names {
		value := fields[name]
		if size := len(name) + len(value); len(value) <= keptFieldBytes && used+size <= keptBytes {
			kept[name] = value
			used += size
			continue
		}
		mark.OmittedCount++
		if len(mark.Omitted) < omittedNames {
			mark.Omitted = append(mark.Omitted, cut(name, nameBytes))
		}
	}
	var err error
	if kept[MarkerField], err = json.Marshal(mark); err == nil {
		var out []byte
		if out, err = json.Marshal(kept); err == nil {
			return string(out)
		}
	}
	// Unreachable with values that came out of encoding/json; the marker alone still marks.
	return fmt.Sprintf(`{%q:{"original_bytes":%d,"dead_letter":true}}`, MarkerField, len(ev.Body))
}

// parsedEnvelope returns the envelope fields that auditpipe parsed from ev, as JSON values.
func parsedEnvelope(ev event.Event) map[string]json.RawMessage {
	fields := map[string]json.RawMessage{}
	add := func(name, value string) {
		if quoted, err := json.Marshal(value); err == nil && value != "" {
			fields[name] = quoted
		}
	}
	add("event", ev.Type)
	add("uid", ev.UID)
	add("cluster_name", ev.Cluster)
	add("sid", ev.SessionID)
	if !ev.Time.IsZero() {
		add("time", ev.Time.UTC().Format(dateLayout))
	}
	if ev.SessionID != "" {
		fields["ei"] = json.RawMessage(strconv.FormatInt(ev.Index, 10))
	}
	return fields
}

// oversizeReason is the Reason of an oversize event whose truncated record was accepted.
func oversizeReason(itemBytes int) string {
	return fmt.Sprintf("%s: its log item is %d bytes, over Datadog's %d-byte limit; a truncated record marked %s was delivered in its place",
		ReasonOversize, itemBytes, MaxItemBytes, MarkerTag)
}

// cut returns s cut to at most n bytes, on a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
