package teleportsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/auditpipe/auditpipe/pkg/jsonstring"
)

// CanonicalJSON returns the canonical form of a JSON document: keys of every object sorted, no
// insignificant whitespace, numbers as encoding/json prints a float64, strings escaped as
// encoding/json does without HTML escaping.
//
// Every Event.JSON the Log renders is already canonical, and canonicalization survives the trip
// through Teleport's google.protobuf.Struct (EventUnstructured.Unstructured) and protojson. So a
// consumer that computes sha256(CanonicalJSON(received)) obtains the ManifestEntry.SHA256 of the
// event when it arrived intact.
func CanonicalJSON(data []byte) ([]byte, error) {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("teleportsim: canonical JSON: %w", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("teleportsim: canonical JSON: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// object builds one canonical JSON object: members may be added in any order and are written
// sorted by key. A key must not be added twice.
type object struct {
	buf     []byte
	members []member
}

type member struct {
	key        string
	start, end int // the encoded value in buf
}

func (o *object) add(key string, start int) {
	o.members = append(o.members, member{key: key, start: start, end: len(o.buf)})
}

func (o *object) str(key, v string) {
	s := len(o.buf)
	o.buf = jsonstring.Append(o.buf, v)
	o.add(key, s)
}

func (o *object) int(key string, v int64) {
	s := len(o.buf)
	o.buf = strconv.AppendInt(o.buf, v, 10)
	o.add(key, s)
}

func (o *object) bool(key string, v bool) {
	s := len(o.buf)
	o.buf = strconv.AppendBool(o.buf, v)
	o.add(key, s)
}

func (o *object) time(key string, t time.Time) {
	s := len(o.buf)
	o.buf = append(o.buf, '"')
	o.buf = t.UTC().AppendFormat(o.buf, time.RFC3339Nano)
	o.buf = append(o.buf, '"')
	o.add(key, s)
}

func (o *object) strs(key string, v []string) {
	s := len(o.buf)
	o.buf = append(o.buf, '[')
	for i, e := range v {
		if i > 0 {
			o.buf = append(o.buf, ',')
		}
		o.buf = jsonstring.Append(o.buf, e)
	}
	o.buf = append(o.buf, ']')
	o.add(key, s)
}

// labels adds an object of string values, given as key, value pairs.
func (o *object) labels(key string, kv ...string) {
	var l object
	for i := 0; i+1 < len(kv); i += 2 {
		l.str(kv[i], kv[i+1])
	}
	o.raw(key, l.bytes())
}

func (o *object) raw(key string, v []byte) {
	s := len(o.buf)
	o.buf = append(o.buf, v...)
	o.add(key, s)
}

// bytes returns the object's JSON text.
func (o *object) bytes() []byte {
	slices.SortFunc(o.members, func(a, b member) int { return strings.Compare(a.key, b.key) })
	n := 2
	for _, m := range o.members {
		n += len(m.key) + 4 + m.end - m.start
	}
	out := make([]byte, 0, n)
	out = append(out, '{')
	for i, m := range o.members {
		if i > 0 {
			out = append(out, ',')
		}
		out = jsonstring.Append(out, m.key)
		out = append(out, ':')
		out = append(out, o.buf[m.start:m.end]...)
	}
	return append(out, '}')
}
