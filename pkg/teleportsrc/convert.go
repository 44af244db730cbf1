package teleportsrc

import (
	"maps"
	"math"
	"slices"
	"strconv"

	auditlogpb "github.com/gravitational/teleport/api/gen/proto/go/teleport/auditlog/v1"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/jsonstring"
)

// toEvent converts an event as Teleport sends it into the envelope auditpipe moves. The body is
// the JSON of the event's Struct (see appendStruct); the envelope is read from the body by
// event.Parse, and any field the body lacks (or that event.Parse rejects) is taken from the
// type, time and index Teleport sends beside the Struct. It never fails: an odd event is
// forwarded as it is rather than stalling the page it is in.
func toEvent(kind event.Kind, item *auditlogpb.EventUnstructured) event.Event {
	s := item.GetUnstructured()
	body := appendStruct(nil, s)
	ev, err := event.Parse(kind, body)
	if err != nil {
		// No "event" field, or an "ei" that is not an integer: keep the body unchanged.
		ev = event.Event{
			Kind:      kind,
			UID:       s.GetFields()["uid"].GetStringValue(),
			SessionID: s.GetFields()["sid"].GetStringValue(),
			Cluster:   s.GetFields()["cluster_name"].GetStringValue(),
			Body:      body,
		}
	}
	if ev.Type == "" {
		ev.Type = item.GetType()
	}
	if ev.Time.IsZero() && item.GetTime() != nil {
		ev.Time = item.GetTime().AsTime().UTC()
	}
	if ev.Index == 0 {
		ev.Index = item.GetIndex()
	}
	return ev
}

// appendStruct appends s as a JSON object. Teleport builds the Struct from the event's JSON,
// so this gives that JSON back, with two differences the wire imposes:
//
//   - Key order: a Struct is a map and does not keep the original order. Keys are written
//     sorted, so the same event read twice (by search, by export, or its copy in a recording)
//     has byte-identical bodies.
//   - Numbers: a Struct holds every number as a float64. A number is written as the shortest
//     decimal that reads back to the same float64, without exponent between 1e-6 and 1e21, as
//     encoding/json and protojson do: an integer such as "bytes": 1234567890123 comes back
//     exactly as Teleport wrote it (never "1.234567890123e+12" or "1234567890123.0").
//     Integers beyond 2^53 already lost precision in Teleport's conversion and are written as
//     the float64 Teleport sent. NaN and ±Infinity, which JSON cannot hold, are written as the
//     strings "NaN", "Infinity" and "-Infinity", as protojson does.
//
// Strings are escaped as JSON requires and no more (no HTML escaping of <, > and &, which
// commands and queries are full of). A nil Struct is written as {}.
func appendStruct(b []byte, s *structpb.Struct) []byte {
	fields := s.GetFields()
	b = append(b, '{')
	for i, k := range slices.Sorted(maps.Keys(fields)) {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonstring.Append(b, k)
		b = append(b, ':')
		b = appendValue(b, fields[k])
	}
	return append(b, '}')
}

func appendValue(b []byte, v *structpb.Value) []byte {
	switch k := v.GetKind().(type) {
	case *structpb.Value_BoolValue:
		return strconv.AppendBool(b, k.BoolValue)
	case *structpb.Value_NumberValue:
		return appendNumber(b, k.NumberValue)
	case *structpb.Value_StringValue:
		return jsonstring.Append(b, k.StringValue)
	case *structpb.Value_StructValue:
		return appendStruct(b, k.StructValue)
	case *structpb.Value_ListValue:
		b = append(b, '[')
		for i, e := range k.ListValue.GetValues() {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendValue(b, e)
		}
		return append(b, ']')
	}
	return append(b, "null"...) // NullValue, or a Value with no kind set
}

func appendNumber(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// 1e-07 → 1e-7, as ECMAScript and encoding/json write it.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}
