package lock

import (
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/event"
)

func TestLockReadFailedLogin(t *testing.T) {
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	at := "2025-01-02T03:04:05.678Z"
	tests := []struct {
		name    string
		body    string
		want    failedLogin
		wantOK  bool
		wantErr bool
	}{
		{name: "failed local login", body: `{"event":"user.login","uid":"u1","time":"` + at + `","user":"alice","method":"local","success":false}`,
			want: failedLogin{target: target{user: "alice"}, id: "u1", at: time.Date(2025, 1, 2, 3, 4, 5, 678e6, time.UTC)}, wantOK: true},
		{name: "with an OS login", body: `{"event":"user.login","uid":"u2","time":"` + at + `","user":"mallory","login":"root","success":false}`,
			want: failedLogin{target: target{user: "mallory", login: "root"}, id: "u2", at: time.Date(2025, 1, 2, 3, 4, 5, 678e6, time.UTC)}, wantOK: true},
		{name: "no time: now", body: `{"event":"user.login","uid":"u3","user":"bob","success":false}`,
			want: failedLogin{target: target{user: "bob"}, id: "u3", at: now}, wantOK: true},
		{name: "unicode user", body: `{"event":"user.login","uid":"u4","user":"józef 👩‍💻","success":false}`,
			want: failedLogin{target: target{user: "józef 👩‍💻"}, id: "u4", at: now}, wantOK: true},
		{name: "success", body: `{"event":"user.login","uid":"u5","user":"alice","success":true}`},
		{name: "no success field", body: `{"event":"user.login","uid":"u6","user":"alice"}`},
		{name: "no user", body: `{"event":"user.login","uid":"u7","login":"root","success":false}`},
		{name: "another type", body: `{"event":"session.start","uid":"u8","user":"alice","success":false}`},
		{name: "success of the wrong type", body: `{"event":"user.login","uid":"u9","user":"alice","success":"false"}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := event.Parse(event.Audit, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			got, ok, err := readFailedLogin(ev, now)
			if (err != nil) != tt.wantErr || ok != tt.wantOK {
				t.Fatalf("readFailedLogin = %+v, %t, %v; want ok %t, error %t", got, ok, err, tt.wantOK, tt.wantErr)
			}
			if got.target != tt.want.target || got.id != tt.want.id || !got.at.Equal(tt.want.at) {
				t.Fatalf("readFailedLogin = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestLockTargetIDs: keys and lock names tell every user+login apart, whatever characters
// they hold, and carry no brace after the hash tag.
func TestLockTargetIDs(t *testing.T) {
	targets := []target{{"a", "b"}, {"a-b", ""}, {"a", "-b"}, {"a\x00b", ""}, {"a", "b\x00"}, {"a\x00", "b"}, {"{x}", "root"}, {"józef", "root"}, {"", "root"}}
	seen := make(map[string]target)
	k := newKeys("p:")
	for _, tg := range targets {
		id := tg.id()
		if prev, dup := seen[id]; dup {
			t.Errorf("%+v and %+v share id %s", prev, tg, id)
		}
		seen[id] = tg
		if got := k.failures(tg); got != "p:{lock}:failures:"+id {
			t.Errorf("failures key %q", got)
		}
		if got := lockName(tg); got != "auditpipe-failed-logins-"+id || len(id) != 32 {
			t.Errorf("lock name %q", got)
		}
	}
}
