package config

import (
	"os"
	"strings"
	"testing"
)

// The reference and the example in the repository's docs/ directory.
const (
	docsReference = "../../docs/config.md"
	docsExample   = "../../docs/examples/auditpipe.toml"
)

// TestDocsExample: the documented example loads without warnings, validates, and with its
// files in place is a complete configuration for every service.
func TestDocsExample(t *testing.T) {
	c, warnings, err := Load(Sources{File: docsExample})
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings: %v", warnings)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	dir := t.TempDir()
	flags := map[string]string{}
	for _, key := range []string{
		"teleport.identity", "forward.fluentd.ca", "forward.fluentd.cert", "forward.fluentd.key",
		"forward.datadog.api-key-file", "redis.password-file", "redis.tls.ca", "nats.creds",
		"admin.tokens-file", "admin.tls.cert", "admin.tls.key",
	} {
		if stringValue(t, c, key) == "" {
			t.Errorf("the example does not set %s", key)
		}
		flags[key] = writeFile(t, dir, key, "x")
	}
	c, _, err = Load(Sources{File: docsExample, Flags: flags})
	if err != nil {
		t.Fatal(err)
	}
	for _, service := range []Service{ServiceIngest, ServiceShipper, ServiceAdmin} {
		if err := c.ValidateFor(service); err != nil {
			t.Errorf("ValidateFor(%s) = %v", service, err)
		}
	}
}

// stringValue returns the value of the string key in c.
func stringValue(t *testing.T, c *Config, key string) string {
	t.Helper()
	ks, err := keys()
	if err != nil {
		t.Fatal(err)
	}
	f := ks.byKey[key]
	if f == nil || f.kind != kindString {
		t.Fatalf("%s is not a string key", key)
	}
	return f.value(c).String()
}

// TestDocsReferenceCoversEveryKey: docs/config.md documents every key and its variable, and
// shows the example file as it is.
func TestDocsReferenceCoversEveryKey(t *testing.T) {
	data, err := os.ReadFile(docsReference)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	ks, err := keys()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range ks.fields {
		if !strings.Contains(doc, "`"+f.key+"`") {
			t.Errorf("%s does not document the key `%s`", docsReference, f.key)
		}
		if !strings.Contains(doc, "`"+f.env+"`") {
			t.Errorf("%s does not document the variable `%s`", docsReference, f.env)
		}
	}
	example, err := os.ReadFile(docsExample)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(doc, "```toml\n"+string(example)+"```") {
		t.Errorf("%s does not show %s as it is", docsReference, docsExample)
	}
	for _, name := range append(notKeyEnv, EnvDatadogAPIKey, EnvDatadogSite) {
		if !strings.Contains(doc, "`"+name+"`") {
			t.Errorf("%s does not document the variable `%s`", docsReference, name)
		}
	}
}
