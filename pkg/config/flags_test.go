package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseSetFlags(t *testing.T) {
	tests := []struct {
		name    string
		given   []string
		want    map[string]string
		wantErr string
	}{
		{"none", nil, map[string]string{}, ""},
		{
			"pairs, trimmed keys, values as written, the last wins",
			[]string{"batch=5", " teleport.addr =t:3025", "types=a,b", "log.level=info", "log.level=debug", "forward.fluentd.url=https://f/a?x=1"},
			map[string]string{"batch": "5", "teleport.addr": "t:3025", "types": "a,b", "log.level": "debug", "forward.fluentd.url": "https://f/a?x=1"},
			"",
		},
		{"empty value", []string{"skip-session-types="}, map[string]string{"skip-session-types": ""}, ""},
		{"no equals sign, not shown", []string{"batch=1", "hunter2"}, nil, "config: --set argument 2: want key=value"},
		{"no key", []string{"=1"}, nil, "config: --set argument 1: want key=value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSetFlags(tt.given)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseSetFlags = %v, %v, want %v", got, err, tt.want)
			}
		})
	}
}

func TestFlags(t *testing.T) {
	flags, err := ParseSetFlags([]string{"start-time=2024-01-01T00:00:00Z", "forward.fluentd.url=https://fluentd:8888/a.log", "shipper.sinks=fluentd,datadog", "teleport.refresh.enabled=true"})
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := Load(Sources{Flags: flags})
	if err != nil {
		t.Fatal(err)
	}
	if got.StartTime.Year() != 2024 || got.Forward.Fluentd.URL != "https://fluentd:8888/a.log" ||
		!reflect.DeepEqual(got.Shipper.Sinks, []string{"fluentd", "datadog"}) || !got.Teleport.Refresh.Enabled {
		t.Errorf("flags not applied:\n%v", got)
	}

	_, _, err = Load(Sources{Flags: map[string]string{
		"teleport.adr":        "x",
		"forward.fluentd":     "x",
		"":                    "x",
		"redis.password":      "hunter2",
		"shipper.max-deliver": "lots",
	}})
	checkErr(t, err, []string{
		"flags: : unknown key",
		"flags: forward.fluentd: is a section, not a key",
		"flags: redis.password: unknown key; secrets are never written in the configuration: use redis.password-file",
		"flags: shipper.max-deliver: want an integer, got \"lots\"",
		"flags: teleport.adr: unknown key (did you mean teleport.addr?)",
	})
}
