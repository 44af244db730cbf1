package teleportsim

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// everyEvent returns the audit events and the recordings of l.
func everyEvent(t testing.TB, l *Log) []Event {
	t.Helper()
	out := auditEvents(t, l)
	for n := range len(l.sessions) {
		if err := l.recording(int32(n), 0, func(ev Event) error {
			out = append(out, ev)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestEventShapes(t *testing.T) {
	t.Parallel() // CPU only, on a Log of its own: runs beside the others on a second core
	common := []string{"ei", "event", "time", "cluster_name"}
	want := map[string]struct {
		codes  []string
		fields []string
	}{
		"user.login":            {[]string{"T1000I", "T1000W", "T1001I", "T1001W"}, []string{"uid", "code", "user", "success", "method", "addr.remote"}},
		"session.start":         {[]string{"T2000I"}, []string{"uid", "code", "user", "login", "sid", "server_id", "server_hostname", "addr.local", "addr.remote", "proto", "size"}},
		"session.join":          {[]string{"T2001I"}, []string{"uid", "code", "user", "login", "sid", "server_id", "addr.remote"}},
		"session.leave":         {[]string{"T2003I"}, []string{"uid", "code", "user", "sid", "server_id"}},
		"session.end":           {[]string{"T2004I"}, []string{"uid", "code", "user", "sid", "server_id", "participants", "session_start", "session_stop", "interactive", "enhanced_recording"}},
		"session.data":          {[]string{"T2006I"}, []string{"uid", "code", "user", "sid", "tx", "rx"}},
		"session.upload":        {[]string{"T2005I"}, []string{"uid", "code", "sid", "url"}},
		"exec":                  {[]string{"T3002I", "T3002E"}, []string{"uid", "code", "user", "login", "sid", "server_id", "command", "addr.remote"}},
		"cert.create":           {[]string{"TC000I"}, []string{"uid", "code", "cert_type", "identity"}},
		"role.created":          {[]string{"T9000I"}, []string{"uid", "code", "name", "user", "expires"}},
		"user.create":           {[]string{"T1002I"}, []string{"uid", "code", "name", "roles", "connector", "user"}},
		"access_request.create": {[]string{"T5000I"}, []string{"uid", "code", "id", "state", "roles", "user"}},
		"db.session.query":      {[]string{"TDB02I", "TDB02W"}, []string{"uid", "code", "user", "sid", "db_service", "db_protocol", "db_uri", "db_query", "success"}},
		"app.session.start":     {[]string{"T2007I"}, []string{"uid", "code", "user", "sid", "public_addr", "app_name", "app_uri"}},
		"kube.request":          {[]string{"T3009I"}, []string{"uid", "code", "user", "request_path", "verb", "response_code", "kubernetes_cluster"}},
		"port":                  {[]string{"T3003I", "T3003E"}, []string{"uid", "code", "user", "login", "addr", "success"}},
		"sftp":                  {[]string{"TS001I", "TS007I", "TS009I", "TS010I", "TS011I", "TS012I", "TS016I"}, []string{"uid", "code", "user", "login", "sid", "path", "action", "working_directory"}},
		"print":                 {[]string{""}, []string{"ci", "bytes", "ms", "offset", "data"}},
		"resize":                {[]string{"T2002I"}, []string{"code", "user", "sid", "size"}},
	}
	l := newTestLog(t, Options{Count: 10000, LargeEvents: 2, HugeEvents: 1})
	seen := map[string]int{}
	for _, ev := range everyEvent(t, l) {
		var f map[string]any
		if err := json.Unmarshal(ev.JSON, &f); err != nil {
			t.Fatalf("%s: invalid JSON: %v", ev.Type, err)
		}
		w, ok := want[ev.Type]
		if !ok {
			t.Fatalf("unexpected type %q", ev.Type)
		}
		seen[ev.Type]++
		for _, k := range append(slices.Clone(common), w.fields...) {
			if _, ok := f[k]; !ok {
				t.Fatalf("%s lacks %q: %s", ev.Type, k, ev.JSON)
			}
		}
		code, _ := f["code"].(string)
		if !slices.Contains(w.codes, code) {
			t.Fatalf("%s has code %q, want one of %q", ev.Type, code, w.codes)
		}
		if f["event"] != ev.Type || f["uid"] != nil && f["uid"] != ev.UID || int64(f["ei"].(float64)) != ev.Index {
			t.Fatalf("Event fields disagree with the JSON: %+v vs %s", ev, ev.JSON)
		}
		if sid, _ := f["sid"].(string); sid != ev.SessionID && ev.Type != "print" || ev.Type == "print" && (sid != "" || ev.SessionID == "") {
			t.Fatalf("SessionID %q, JSON sid %q", ev.SessionID, sid)
		}
		ts, err := time.Parse(time.RFC3339Nano, f["time"].(string))
		if err != nil || !ts.Equal(ev.Time) || ts.Location() != time.UTC {
			t.Fatalf("time %v (err %v) vs Event.Time %v", f["time"], err, ev.Time)
		}
		if ev.Type != "print" && ev.Type != "resize" && ev.UID == "" {
			t.Fatalf("%s has no uid", ev.Type)
		}
		if (ev.Type == "print" || ev.Type == "resize") && ev.UID != "" {
			t.Fatalf("%s has a uid", ev.Type)
		}
		if c, err := CanonicalJSON(ev.JSON); err != nil || !bytes.Equal(c, ev.JSON) {
			t.Fatalf("%s is not canonical (err %v):\n%s\n%s", ev.Type, err, ev.JSON, c)
		}
	}
	for typ := range want {
		if seen[typ] == 0 {
			t.Errorf("no %s event generated", typ)
		}
	}
	if len(seen) < 15 {
		t.Errorf("%d types, want at least 15", len(seen))
	}
}

func TestFailedLoginBursts(t *testing.T) {
	l := newTestLog(t, Options{Count: 5000})
	type target struct{ user, login string }
	failures := map[target][]time.Time{}
	for _, ev := range auditEvents(t, l) {
		if ev.Type != "user.login" {
			continue
		}
		var f struct {
			User, Login, Code string
			Success           bool
		}
		if err := json.Unmarshal(ev.JSON, &f); err != nil {
			t.Fatal(err)
		}
		if !f.Success && f.Login != "" {
			if f.Code != "T1000W" {
				t.Fatalf("failed local login with code %s", f.Code)
			}
			failures[target{f.User, f.Login}] = append(failures[target{f.User, f.Login}], ev.Time)
		}
	}
	// Some user+login fails at least 5 times within 2 minutes.
	for tg, times := range failures {
		for i := 0; i+4 < len(times); i++ {
			if times[i+4].Sub(times[i]) <= 2*time.Minute {
				t.Logf("%v failed %d times", tg, len(times))
				return
			}
		}
	}
	t.Fatalf("no burst of failed logins: %v", failures)
}

func TestUnicodeEventsAreValidUTF8JSON(t *testing.T) {
	l := newTestLog(t, Options{Count: 5000, Unicode: true})
	nonASCII := 0
	for _, ev := range everyEvent(t, l) {
		if !utf8.Valid(ev.JSON) || !json.Valid(ev.JSON) {
			t.Fatalf("invalid UTF-8 JSON: %q", ev.JSON)
		}
		if strings.ContainsFunc(string(ev.JSON), func(r rune) bool { return r > 127 }) {
			nonASCII++
		}
	}
	if nonASCII < 100 {
		t.Fatalf("only %d events with non-ASCII text", nonASCII)
	}
	var withEmoji bool
	for _, ev := range auditEvents(t, l) {
		if strings.ContainsAny(string(ev.JSON), "😀🚀🍺📝") {
			withEmoji = true
			break
		}
	}
	if !withEmoji {
		t.Fatal("no emoji in any event")
	}
}

// TestCanonicalJSONSurvivesStruct proves the manifest hash can be checked at the far end: the
// server sends each event as a google.protobuf.Struct, the client marshals it with protojson.
func TestCanonicalJSONSurvivesStruct(t *testing.T) {
	t.Parallel() // CPU only, on a Log of its own: runs beside the others on a second core
	l := newTestLog(t, Options{Count: 3000, Unicode: true, LargeEvents: 1})
	for _, ev := range everyEvent(t, l) {
		var s structpb.Struct
		if err := protojson.Unmarshal(ev.JSON, &s); err != nil {
			t.Fatalf("Struct from %s: %v", ev.Type, err)
		}
		wire, err := protojson.Marshal(&s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := CanonicalJSON(wire)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, ev.JSON) {
			t.Fatalf("%s changed through Struct:\n%s\n%s", ev.Type, ev.JSON, got)
		}
	}
}
