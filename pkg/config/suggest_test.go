package config

import "testing"

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"url", "url", 0},
		{"ulr", "url", 1}, // a transposition costs one
		{"batch", "bacth", 1},
		{"addr", "adr", 1},
		{"timeout", "timeouts", 1},
		{"kitten", "sitting", 3},
		{"", "abc", 3},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := editDistance(tt.b, tt.a); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestUnknownKey(t *testing.T) {
	ks, err := keys()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		given []string
		want  string
	}{
		{[]string{"forward", "fluentd", "ulr"}, "unknown key (did you mean forward.fluentd.url?)"},
		{[]string{"forward", "fluentd", "sesion-url"}, "unknown key (did you mean forward.fluentd.session-url?)"},
		{[]string{"teleport", "identity-file"}, "unknown key (did you mean teleport.identity?)"},
		{[]string{"skip-event-type"}, "unknown key (did you mean skip-event-types?)"},
		{[]string{"lock-failed-attempts"}, "unknown key (did you mean lock-failed-attempts-count?)"},
		{[]string{"datadog", "site"}, "unknown key (did you mean forward.datadog.site?)"},
		{[]string{"addr"}, "unknown key (did you mean teleport.addr or redis.addr?)"},
		{[]string{"nats", "user"}, "unknown key (did you mean nats.url?)"},
		{[]string{"nats", "token"}, "unknown key; secrets are never written in the configuration: use nats.creds"},
		{[]string{"admin", "tokens"}, "unknown key; secrets are never written in the configuration: use admin.tokens-file"},
		{[]string{"forward", "fluentd", "password"}, "unknown key; secrets are never written in the configuration: they are read from files"},
		{[]string{"kafka", "brokers"}, "unknown key"},
	}
	for _, tt := range tests {
		if got := ks.unknownKey(tt.given); got != tt.want {
			t.Errorf("unknownKey(%q) = %q, want %q", tt.given, got, tt.want)
		}
	}
}

func TestUnknownEnv(t *testing.T) {
	ks, err := keys()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		given string
		want  string
	}{
		{"AUDITPIPE_BACTH", "unknown variable (did you mean AUDITPIPE_BATCH?)"},
		{"AUDITPIPE_CONFG", "unknown variable (did you mean AUDITPIPE_CONFIG?)"},
		{"AUDITPIPE_ADMIN_TOKENS", "unknown variable (did you mean AUDITPIPE_ADMIN_TOKENS_FILE?)"},
		{"AUDITPIPE_NATS_URLS", "unknown variable (did you mean AUDITPIPE_NATS_URL?)"},
		{"AUDITPIPE_SITE", "unknown variable (did you mean AUDITPIPE_FORWARD_DATADOG_SITE?)"},
		{"AUDITPIPE_NOTHING_LIKE_IT", "unknown variable"},
	}
	for _, tt := range tests {
		if got := ks.unknownEnv(tt.given); got != tt.want {
			t.Errorf("unknownEnv(%q) = %q, want %q", tt.given, got, tt.want)
		}
	}
}
