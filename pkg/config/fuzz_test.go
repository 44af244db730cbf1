package config

import (
	"os"
	"reflect"
	"testing"
	"unicode/utf8"
)

// FuzzLoad: the loader never panics, whatever the file, environment and flags hold; and a
// configuration that loads and validates renders to TOML that loads back to itself.
func FuzzLoad(f *testing.F) {
	for _, path := range []string{
		"testdata/teleport-event-handler.toml",
		"testdata/teleport-event-handler-all-keys.toml",
		"../../docs/examples/auditpipe.toml",
	} {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, "user.login,session.start", "10s")
	}
	for _, seed := range []string{
		"",
		"batch = \"x\"\n[teleport]\nadr = \"a:1\"",
		"[redis]\nurl = \"redis://u:p@r:6379\"",
		"[redis]\npassword = hunter2",
		"start-time = 2024-03-01T10:00:00",
		"\"forward.fluentd\" = { url = \"https://f:8888/a.log\" }",
		"[[shipper]]\nsinks = [\"fluentd\"]",
		"[teleport.addr]\nhost = \"x\"",
		"teleport = 1\nforward = []\n[log]\nlevel = {a = 1}",
		"types = [[\"a\"], 1.5, true, 1979-05-27]",
		"debug = \"true\"\nstorage = {}\ncursor = [1]",
		"[nats]\nmax-bytes = 9223372036854775807\nreplicas = -9223372036854775808",
		"[nats]\nmax-bytes = \"9999999999999TiB\"",
		"lock-enabled = true\nconcurrency = 4611686018427387904",
		"a.b.c.d.e.f = 1\n[x.y]\n[x.y.z]",
	} {
		f.Add([]byte(seed), "", "")
	}
	ks, err := keys()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, envValue, flagValue string) {
		env := environ{
			"AUDITPIPE_SKIP_EVENT_TYPES": envValue,
			"AUDITPIPE_NATS_MAX_BYTES":   envValue,
			"DD_SITE":                    envValue,
			"AUDITPIPE_" + envValue:      flagValue,
		}
		flags := map[string]string{
			ks.fields[len(flagValue)%len(ks.fields)].key: flagValue,
			envValue: flagValue,
		}
		c, _, err := load("fuzz.toml", data, env, Sources{Flags: flags})
		if err != nil {
			return
		}
		_ = c.String()
		if c.Validate() != nil || !utf8.ValidString(envValue) || !utf8.ValidString(flagValue) {
			return
		}
		text := c.String()
		back, _, err := load("rendered.toml", []byte(text), nil, Sources{})
		if err != nil {
			t.Fatalf("a valid configuration renders to TOML that does not load: %v\n%s", err, text)
		}
		if !reflect.DeepEqual(back, c) {
			t.Fatalf("render and load changed the configuration:\n%v\nwant\n%v", back, c)
		}
	})
}
