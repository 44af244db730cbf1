package teleportsrc

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"

	auditlogpb "github.com/gravitational/teleport/api/gen/proto/go/teleport/auditlog/v1"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/auditpipe/auditpipe/pkg/event"
)

// structOf builds a Struct from JSON as Teleport does (events.ToUnstructured: protojson).
func structOf(t testing.TB, js string) *structpb.Struct {
	t.Helper()
	s := &structpb.Struct{}
	if err := s.UnmarshalJSON([]byte(js)); err != nil {
		t.Fatalf("Struct from %s: %v", js, err)
	}
	return s
}

func TestAppendStruct(t *testing.T) {
	tests := []struct {
		name  string
		given string // the event JSON Teleport converts to a Struct
		want  string
	}{
		{name: "empty", given: `{}`, want: `{}`},
		{name: "keys sorted, no spaces", given: `{"uid": "u", "event": "user.login", "code": "T1000I"}`,
			want: `{"code":"T1000I","event":"user.login","uid":"u"}`},
		{name: "large integer bytes", given: `{"bytes": 1234567890123}`, want: `{"bytes":1234567890123}`},
		{name: "integers", given: `{"a": 0, "b": -5, "c": 42, "d": 4294967296}`, want: `{"a":0,"b":-5,"c":42,"d":4294967296}`},
		{name: "integer beyond 2^53 keeps Teleport's float64", given: `{"n": 9007199254740993}`, want: `{"n":9007199254740992}`},
		{name: "uint64 max", given: `{"n": 18446744073709551615}`, want: `{"n":18446744073709552000}`},
		{name: "1e20 without exponent", given: `{"n": 1e20}`, want: `{"n":100000000000000000000}`},
		{name: "1e21 with exponent", given: `{"n": 1e21}`, want: `{"n":1e+21}`},
		{name: "fractions", given: `{"a": 1.5, "b": 0.1, "c": -2.25, "d": 0.000001}`, want: `{"a":1.5,"b":0.1,"c":-2.25,"d":0.000001}`},
		{name: "small with exponent", given: `{"n": 1e-7}`, want: `{"n":1e-7}`},
		{name: "integral float written as integer", given: `{"n": 12.0}`, want: `{"n":12}`},
		{name: "no HTML escaping", given: `{"cmd": "ls > /tmp/x && cat <a>"}`, want: `{"cmd":"ls > /tmp/x && cat <a>"}`},
		{name: "escapes", given: `{"s": "q\"b\\n\nt\tr\r\u0001\u001f"}`, want: `{"s":"q\"b\\n\nt\tr\r\u0001\u001f"}`},
		// Unicode is kept as it is, except U+2028/U+2029, escaped as encoding/json does.
		{name: "unicode kept", given: `{"user": "jöhn 日本 🎉 \u2028"}`, want: `{"user":"jöhn 日本 🎉 \u2028"}`},
		{name: "nested, lists, null, bools", given: `{"z": {"b": [1, "x", null, true, {"d": false, "c": []}], "a": {}}, "y": null}`,
			want: `{"y":null,"z":{"a":{},"b":[1,"x",null,true,{"c":[],"d":false}]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(appendStruct(nil, structOf(t, tt.given)))
			if got != tt.want {
				t.Fatalf("appendStruct = %s, want %s", got, tt.want)
			}
			if !json.Valid([]byte(got)) {
				t.Fatalf("invalid JSON: %s", got)
			}
		})
	}
}

func TestAppendStructOutsideJSON(t *testing.T) {
	s := &structpb.Struct{Fields: map[string]*structpb.Value{
		"nan":   structpb.NewNumberValue(math.NaN()),
		"inf":   structpb.NewNumberValue(math.Inf(1)),
		"ninf":  structpb.NewNumberValue(math.Inf(-1)),
		"unset": {},
		"bad":   structpb.NewStringValue("a\xffb"),
	}}
	want := `{"bad":"a\ufffdb","inf":"Infinity","nan":"NaN","ninf":"-Infinity","unset":null}`
	if got := string(appendStruct(nil, s)); got != want {
		t.Fatalf("appendStruct = %s, want %s", got, want)
	}
	if got := string(appendStruct(nil, nil)); got != "{}" {
		t.Fatalf("appendStruct(nil) = %s, want {}", got)
	}
}

// FuzzAppendStruct shows that any JSON object Teleport can turn into a Struct comes back as
// valid JSON with the same values (numbers as the float64 the Struct holds).
func FuzzAppendStruct(f *testing.F) {
	for _, seed := range []string{
		`{"event":"session.data","tx":1048576,"rx":123456789012,"sid":"s"}`,
		`{"a":[1.5,-0,1e300,5e-324],"b":{"c":"\u00e9\"\\"}}`,
		`{"cmd":"echo '<>&'\n","ei":7}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, js string) {
		s := &structpb.Struct{}
		if s.UnmarshalJSON([]byte(js)) != nil {
			return
		}
		got := appendStruct(nil, s)
		var want, back any
		if err := json.Unmarshal([]byte(js), &want); err != nil {
			return // not JSON encoding/json reads: nothing to compare with
		}
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("appendStruct(%s) = %s: invalid JSON: %v", js, got, err)
		}
		if !reflect.DeepEqual(want, back) {
			t.Fatalf("appendStruct(%s) = %s: values differ", js, got)
		}
	})
}

func TestToEvent(t *testing.T) {
	at := time.Date(2025, 1, 27, 10, 0, 0, 123000000, time.UTC)
	tests := []struct {
		name  string
		kind  event.Kind
		given *auditlogpb.EventUnstructured
		want  event.Event
	}{
		{
			name: "envelope from the body",
			kind: event.Audit,
			given: &auditlogpb.EventUnstructured{Type: "user.login", Id: "u1", Time: timestamppb.New(at),
				Unstructured: structOf(t, `{"event":"user.login","uid":"u1","time":"2025-01-27T10:00:00.123Z","cluster_name":"c","success":false}`)},
			want: event.Event{Kind: event.Audit, Type: "user.login", UID: "u1", Time: at, Cluster: "c",
				Body: []byte(`{"cluster_name":"c","event":"user.login","success":false,"time":"2025-01-27T10:00:00.123Z","uid":"u1"}`)},
		},
		{
			name: "session event",
			kind: event.Session,
			given: &auditlogpb.EventUnstructured{Type: "print", Id: "h", Time: timestamppb.New(at), Index: 12,
				Unstructured: structOf(t, `{"event":"print","ei":12,"bytes":20,"time":"2025-01-27T10:00:00.123Z"}`)},
			want: event.Event{Kind: event.Session, Type: "print", Time: at, Index: 12,
				Body: []byte(`{"bytes":20,"ei":12,"event":"print","time":"2025-01-27T10:00:00.123Z"}`)},
		},
		{
			name: "fields missing from the body come from Teleport's metadata",
			kind: event.Audit,
			given: &auditlogpb.EventUnstructured{Type: "x.custom", Id: "u2", Time: timestamppb.New(at), Index: 3,
				Unstructured: structOf(t, `{"uid":"u2","sid":"s","cluster_name":"c","ei":"three"}`)},
			want: event.Event{Kind: event.Audit, Type: "x.custom", UID: "u2", Time: at, SessionID: "s", Index: 3, Cluster: "c",
				Body: []byte(`{"cluster_name":"c","ei":"three","sid":"s","uid":"u2"}`)},
		},
		{
			name:  "no Struct at all",
			kind:  event.Audit,
			given: &auditlogpb.EventUnstructured{Type: "x", Time: timestamppb.New(at)},
			want:  event.Event{Kind: event.Audit, Type: "x", Time: at, Body: []byte(`{}`)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := toEvent(tt.kind, tt.given)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("toEvent =\n%+v\nwant\n%+v\nbody %s", got, tt.want, got.Body)
			}
		})
	}
}
