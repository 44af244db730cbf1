package window

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// record is a Redis hash as HGETALL returns it. Its getters decode the encodings this package
// writes (unix milliseconds, decimal integers, JSON lists) and keep the first error, so a
// decoder reads every field and checks err once.
type record struct {
	fields map[string]string
	err    error
}

// recordOf turns a script's flat field/value reply into a record.
func recordOf(reply any) (*record, error) {
	flat, ok := reply.([]any)
	if !ok || len(flat)%2 != 0 {
		return nil, fmt.Errorf("window: unexpected script reply %T", reply)
	}
	m := make(map[string]string, len(flat)/2)
	for i := 0; i < len(flat); i += 2 {
		k, _ := flat[i].(string)
		v, _ := flat[i+1].(string)
		m[k] = v
	}
	return &record{fields: m}, nil
}

func (r *record) str(f string) string { return r.fields[f] }

func (r *record) int(f string) int64 {
	s := r.fields[f]
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("window: field %s: %w", f, err)
	}
	return n
}

func (r *record) time(f string) time.Time {
	if r.fields[f] == "" {
		return time.Time{}
	}
	return fromMillis(r.int(f))
}

func (r *record) list(f string) []string {
	s := r.fields[f]
	if s == "" {
		return nil
	}
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err != nil && r.err == nil {
		r.err = fmt.Errorf("window: field %s: %w", f, err)
	}
	return l
}

// millis encodes a time as Redis stores it: unix milliseconds.
func millis(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// encodeList encodes a list for a hash field; an empty list is "".
func encodeList(l []string) (string, error) {
	if len(l) == 0 {
		return "", nil
	}
	b, err := json.Marshal(l)
	return string(b), err
}
