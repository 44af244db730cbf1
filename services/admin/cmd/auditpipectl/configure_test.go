package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/auditpipe/auditpipe/pkg/config"
)

// fakeResolver answers the names it holds and fails every other lookup.
type fakeResolver map[string][]string

func (r fakeResolver) LookupHost(_ context.Context, host string) ([]string, error) {
	if addrs, ok := r[host]; ok {
		return addrs, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// configNow is the clock of configure tests.
var configNow = time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)

// configure runs auditpipectl configure with the fake resolver and clock.
func configure(t *testing.T, args ...string) result {
	t.Helper()
	return runCtl(t, context.Background(), nil, func(a *app) {
		a.resolver = fakeResolver{"fluentd.internal": {"10.1.2.3"}, "localhost": {"127.0.0.1"}}
		a.now = func() time.Time { return configNow }
	}, append([]string{"configure"}, args...)...)
}

// allFiles are the files configure writes, with their modes.
var allFiles = map[string]os.FileMode{
	"ca.crt": 0o644, "ca.key": 0o600, "server.crt": 0o644, "server.key": 0o600, "client.crt": 0o644, "client.key": 0o600,
	"teleport-role.yaml": 0o644, "fluent.conf": 0o644, "auditpipe.toml": 0o644, ".env": 0o600, "helm-values.yaml": 0o644,
	"admin-tokens": 0o600, "admin.token": 0o600,
}

func readFile(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseCert(t *testing.T, data []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("not a PEM certificate: %q", data)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConfigureWritesEverything(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	r := configure(t, dir, "teleport.example.com:443", "--cn", "fluentd.example.com",
		"--dns-names", "fluentd.internal,10.0.0.7", "--ttl", "720h")
	r.want(t, 0, []string{"Wrote " + dir, "certificates valid until 2025-07-01T09:59:00Z",
		"tctl create -f " + filepath.Join(dir, "teleport-role.yaml"),
		"tctl auth sign --user=auditpipe --out=" + filepath.Join(dir, "identity"),
		"auditpipectl validate-config --config " + filepath.Join(dir, "auditpipe.toml"),
		"auditpipectl --token-file " + filepath.Join(dir, "admin.token") + " status",
		"kubectl create secret generic auditpipe-fluentd-client",
		"helm install auditpipe deploy/helm/auditpipe -f " + filepath.Join(dir, "helm-values.yaml"),
		"deploy/compose/.env",
		"fluentd.example.com, fluentd.internal, 10.0.0.7",
	})
	for name, mode := range allFiles {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if info.Mode().Perm() != mode {
			t.Errorf("%s has mode %v, want %v", name, info.Mode().Perm(), mode)
		}
		if !strings.Contains(r.stdout, name) {
			t.Errorf("the report does not name %s", name)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(allFiles) {
		t.Errorf("%d files written, want %d", len(entries), len(allFiles))
	}
	token := strings.TrimSpace(string(readFile(t, dir, "admin.token")))
	if len(token) != 64 || strings.Contains(r.stdout+r.stderr, token) {
		t.Errorf("admin token %q: want 64 hex digits, never printed", token)
	}
	if !strings.Contains(string(readFile(t, dir, "admin-tokens")), "\nadmin "+token+"\n") {
		t.Errorf("admin-tokens lacks the admin token:\n%s", readFile(t, dir, "admin-tokens"))
	}
}

// The server certificate verifies against the CA for every name, for server auth; the client
// certificate for client auth; each only for its own use; both for --ttl. A real mutual-TLS
// handshake with them succeeds.
func TestConfigureCertificates(t *testing.T) {
	dir := t.TempDir()
	configure(t, dir, "teleport.example.com:443", "--cn", "fluentd.example.com", "--dns-names", "fluentd.internal,10.0.0.7",
		"--ttl", "48h").want(t, 0, nil)
	ca := parseCert(t, readFile(t, dir, "ca.crt"))
	server := parseCert(t, readFile(t, dir, "server.crt"))
	client := parseCert(t, readFile(t, dir, "client.crt"))
	if !ca.IsCA || ca.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("ca.crt is not a CA: IsCA %v, key usage %v", ca.IsCA, ca.KeyUsage)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	at := configNow.Add(time.Hour)
	for _, name := range []string{"fluentd.example.com", "fluentd.internal", "10.0.0.7"} {
		if _, err := server.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, CurrentTime: at,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("server.crt for %s: %v", name, err)
		}
	}
	if _, err := server.Verify(x509.VerifyOptions{DNSName: "other.example.com", Roots: roots, CurrentTime: at}); err == nil {
		t.Error("server.crt verifies for a name it was not given")
	}
	if server.Subject.CommonName != "fluentd.example.com" {
		t.Errorf("server CN %q", server.Subject.CommonName)
	}
	if _, err := client.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client.crt for client auth: %v", err)
	}
	if _, err := client.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
		t.Error("client.crt verifies for server auth")
	}
	if _, err := server.Verify(x509.VerifyOptions{DNSName: "fluentd.example.com", Roots: roots, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Error("server.crt verifies for client auth")
	}
	for name, c := range map[string]*x509.Certificate{"ca": ca, "server": server, "client": client} {
		if got := c.NotAfter.Sub(c.NotBefore); got != 48*time.Hour {
			t.Errorf("%s valid for %v, want --ttl 48h", name, got)
		}
		if c.NotBefore.After(configNow) || configNow.Sub(c.NotBefore) > 2*time.Minute {
			t.Errorf("%s valid from %v, want just before %v", name, c.NotBefore, configNow)
		}
	}
	if _, err := server.Verify(x509.VerifyOptions{DNSName: "fluentd.internal", Roots: roots, CurrentTime: configNow.Add(49 * time.Hour)}); err == nil {
		t.Error("server.crt still valid after --ttl")
	}

	// A handshake as Fluentd and the shipper make it: the server demands a client certificate
	// signed by the CA. (The certificates are valid from configNow: skip the clock check by
	// verifying at configNow.)
	serverPair, err := tls.LoadX509KeyPair(filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"))
	if err != nil {
		t.Fatal(err)
	}
	clientPair, err := tls.LoadX509KeyPair(filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key"))
	if err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return at }
	sc, cc := net.Pipe()
	srv := tls.Server(sc, &tls.Config{Certificates: []tls.Certificate{serverPair}, ClientCAs: roots,
		ClientAuth: tls.RequireAndVerifyClientCert, Time: clock})
	cli := tls.Client(cc, &tls.Config{Certificates: []tls.Certificate{clientPair}, RootCAs: roots,
		ServerName: "fluentd.internal", Time: clock})
	errc := make(chan error, 1)
	go func() { errc <- srv.Handshake() }()
	if err := cli.Handshake(); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	if got := srv.ConnectionState().PeerCertificates[0].Subject.CommonName; got != "auditpipe" {
		t.Errorf("the server saw client %q", got)
	}
	_ = cli.Close()
	_ = srv.Close()
}

func TestConfigureDefaults(t *testing.T) {
	dir := t.TempDir()
	configure(t, dir).want(t, 0, nil)
	server := parseCert(t, readFile(t, dir, "server.crt"))
	if !slices.Equal(server.DNSNames, []string{"localhost"}) || server.Subject.CommonName != "localhost" {
		t.Errorf("default SANs %v, CN %q; want localhost", server.DNSNames, server.Subject.CommonName)
	}
	if got := server.NotAfter.Sub(server.NotBefore); got != 8760*time.Hour {
		t.Errorf("default validity %v, want 8760h", got)
	}
	cfg := loadTOML(t, dir)
	if cfg.Teleport.Addr != "localhost:3025" || cfg.Forward.Fluentd.URL != "https://localhost:8888/teleport.events.log" {
		t.Errorf("defaults: teleport.addr %q, forward.fluentd.url %q", cfg.Teleport.Addr, cfg.Forward.Fluentd.URL)
	}

	// The default directory is ./auditpipe-config.
	t.Chdir(t.TempDir())
	configure(t).want(t, 0, []string{"Wrote auditpipe-config"})
	if _, err := os.Stat(filepath.Join("auditpipe-config", "ca.crt")); err != nil {
		t.Error(err)
	}
}

// A --dns-names entry that does not resolve is an error, and nothing is written.
func TestConfigureLookupFailure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	configure(t, dir, "--dns-names", "fluentd.internal,nope.invalid,gone.invalid").
		want(t, 1, nil, "--dns-names nope.invalid does not resolve", "--dns-names gone.invalid does not resolve", "no such host")
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after a failed lookup %s exists (%v)", dir, err)
	}
}

func TestConfigureBadArguments(t *testing.T) {
	dir := t.TempDir()
	configure(t, dir, "teleport.example.com").want(t, 1, nil, `teleport-addr "teleport.example.com": want host:port`)
	configure(t, dir, "--ttl", "-1h").want(t, 1, nil, "--ttl must be positive")
	configure(t, dir, "--cn", " ").want(t, 1, nil, "--cn must not be empty")
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	configure(t, file).want(t, 1, nil, "is not a directory")
}

// Existing files are not overwritten without --force; with it every file is new and keeps
// its mode, even a key whose mode was widened.
func TestConfigureOverwrite(t *testing.T) {
	dir := t.TempDir()
	configure(t, dir).want(t, 0, nil)
	ca := readFile(t, dir, "ca.crt")
	if err := os.Remove(filepath.Join(dir, "fluent.conf")); err != nil {
		t.Fatal(err)
	}
	configure(t, dir).want(t, 1, nil, "already holds ca.crt, ca.key,", "nothing written", "--force")
	if !bytes.Equal(ca, readFile(t, dir, "ca.crt")) {
		t.Error("ca.crt changed without --force")
	}
	if _, err := os.Stat(filepath.Join(dir, "fluent.conf")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a refused configure wrote fluent.conf")
	}
	if err := os.Chmod(filepath.Join(dir, "server.key"), 0o644); err != nil {
		t.Fatal(err)
	}
	configure(t, dir, "--force").want(t, 0, nil)
	if bytes.Equal(ca, readFile(t, dir, "ca.crt")) {
		t.Error("--force kept the old CA")
	}
	for name, mode := range allFiles {
		if info, err := os.Stat(filepath.Join(dir, name)); err != nil || info.Mode().Perm() != mode {
			t.Errorf("%s after --force: %v, %v; want mode %v", name, info.Mode(), err, mode)
		}
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, ".*.*")); len(matches) > 0 {
		t.Errorf("temporary files left: %v", matches)
	}
}

// teleport-role.yaml is a role and a user in Teleport's YAML resource format.
func TestConfigureRole(t *testing.T) {
	dir := t.TempDir()
	configure(t, dir).want(t, 0, nil)
	data := readFile(t, dir, "teleport-role.yaml")
	type rule struct {
		Resources []string `yaml:"resources"`
		Verbs     []string `yaml:"verbs"`
	}
	type resource struct {
		Kind     string `yaml:"kind"`
		Version  string `yaml:"version"`
		Metadata struct {
			Name        string `yaml:"name"`
			Description string `yaml:"description"`
		} `yaml:"metadata"`
		Spec struct {
			Roles []string `yaml:"roles"`
			Allow struct {
				Rules []rule `yaml:"rules"`
			} `yaml:"allow"`
		} `yaml:"spec"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var docs []resource
	for {
		var r resource
		err := dec.Decode(&r)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("teleport-role.yaml: %v\n%s", err, data)
		}
		docs = append(docs, r)
	}
	if len(docs) != 2 {
		t.Fatalf("%d documents, want a role and a user", len(docs))
	}
	role, user := docs[0], docs[1]
	if role.Kind != "role" || role.Version != "v7" || role.Metadata.Name != "auditpipe" {
		t.Errorf("role: %+v", role)
	}
	want := []rule{{[]string{"event"}, []string{"list", "read"}}, {[]string{"session"}, []string{"list", "read"}}}
	if fmt.Sprint(role.Spec.Allow.Rules) != fmt.Sprint(want) {
		t.Errorf("rules %v, want %v (lock rules commented out)", role.Spec.Allow.Rules, want)
	}
	if user.Kind != "user" || user.Version != "v2" || user.Metadata.Name != "auditpipe" || !slices.Equal(user.Spec.Roles, []string{"auditpipe"}) {
		t.Errorf("user: %+v", user)
	}
	if !strings.Contains(string(data), "# - resources: [lock]\n      #   verbs: [create, update]") {
		t.Errorf("the lock rules are not there, commented:\n%s", data)
	}
}

// loadTOML loads dir/auditpipe.toml with config.Load.
func loadTOML(t *testing.T, dir string) *config.Config {
	t.Helper()
	cfg, warnings, err := config.Load(config.Sources{File: filepath.Join(dir, "auditpipe.toml")})
	if err != nil || len(warnings) > 0 {
		t.Fatalf("auditpipe.toml: %v %v", err, warnings)
	}
	return cfg
}

// auditpipe.toml points at the files configure wrote, and validates for every service once
// the identity file is signed.
func TestConfigureTOMLValidates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "with space's \"dir\"")
	configure(t, dir, "teleport.example.com:443", "--cn", "fluentd.example.com").want(t, 0, nil)
	cfg := loadTOML(t, dir)
	checks := map[string][2]string{
		"teleport.addr":               {cfg.Teleport.Addr, "teleport.example.com:443"},
		"teleport.identity":           {cfg.Teleport.Identity, filepath.Join(dir, "identity")},
		"forward.fluentd.url":         {cfg.Forward.Fluentd.URL, "https://fluentd.example.com:8888/teleport.events.log"},
		"forward.fluentd.session-url": {cfg.Forward.Fluentd.SessionURL, "https://fluentd.example.com:8888/teleport.session"},
		"forward.fluentd.ca":          {cfg.Forward.Fluentd.CA, filepath.Join(dir, "ca.crt")},
		"forward.fluentd.cert":        {cfg.Forward.Fluentd.Cert, filepath.Join(dir, "client.crt")},
		"forward.fluentd.key":         {cfg.Forward.Fluentd.Key, filepath.Join(dir, "client.key")},
		"admin.tokens-file":           {cfg.Admin.TokensFile, filepath.Join(dir, "admin-tokens")},
		"redis.addr":                  {cfg.Redis.Addr, "127.0.0.1:6379"},
		"nats.url":                    {cfg.NATS.URL, "nats://127.0.0.1:4222"},
	}
	for key, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", key, c[0], c[1])
		}
	}
	// Before the identity is signed, that is ingest's only problem; shipper and admin are ready.
	err := cfg.ValidateFor(config.ServiceIngest)
	if err == nil || len(problems(err)) != 1 || !strings.Contains(err.Error(), "teleport.identity: cannot open") {
		t.Errorf("ingest before the identity: %v", err)
	}
	for _, svc := range []config.Service{config.ServiceShipper, config.ServiceAdmin} {
		if err := cfg.ValidateFor(svc); err != nil {
			t.Errorf("%s: %v", svc, err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "identity"), []byte("signed by tctl"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cfg.ValidateFor(config.ServiceIngest); err != nil {
		t.Errorf("ingest: %v", err)
	}
	// And so says validate-config.
	ctl(t, nil, "validate-config", "--config", filepath.Join(dir, "auditpipe.toml")).
		want(t, 0, []string{"ok: valid for ingest, shipper, admin"})
}

func TestConfigureFluentConf(t *testing.T) {
	dir := t.TempDir()
	configure(t, dir).want(t, 0, nil)
	conf := string(readFile(t, dir, "fluent.conf"))
	for _, w := range []string{
		"<source>\n  @type http\n", "port 8888", "<transport tls>", "client_cert_auth true",
		`ca_path "` + filepath.Join(dir, "ca.crt") + `"`,
		`cert_path "` + filepath.Join(dir, "server.crt") + `"`,
		`private_key_path "` + filepath.Join(dir, "server.key") + `"`,
		"#   @type datadog", "fluent-plugin-datadog", "<match **>\n  @type stdout\n</match>",
	} {
		if !strings.Contains(conf, w) {
			t.Errorf("fluent.conf lacks %q:\n%s", w, conf)
		}
	}
	// Every section it opens (outside comments) it closes.
	var open []string
	for line := range strings.SplitSeq(conf, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "#") || line == "":
		case strings.HasPrefix(line, "</"):
			if len(open) == 0 || "</"+open[len(open)-1]+">" != line {
				t.Fatalf("fluent.conf: %s closes %v", line, open)
			}
			open = open[:len(open)-1]
		case strings.HasPrefix(line, "<"):
			open = append(open, strings.Fields(strings.Trim(line, "<>"))[0])
		}
	}
	if len(open) > 0 {
		t.Errorf("fluent.conf leaves %v open", open)
	}
}

// The .env sets compose.yaml's variables (deploy/compose, when it is there): only ones it
// uses, and every one it requires.
func TestConfigureComposeEnv(t *testing.T) {
	dir := t.TempDir()
	configure(t, dir, "teleport.example.com:443").want(t, 0, nil)
	vars := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, dir, ".env")))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf(".env line %q is not NAME=value", line)
		}
		vars[k] = v
	}
	if vars["TELEPORT_ADDR"] != "teleport.example.com:443" || vars["AUDITPIPE_IMAGE_TAG"] != "dev" || vars["DD_API_KEY"] != "" {
		t.Errorf(".env: %v", vars)
	}
	compose, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "deploy", "compose", "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`\$\{([A-Z0-9_]+)(:?[?-])?`).FindAllStringSubmatch(string(compose), -1) {
		used[m[1]] = true
		if strings.HasPrefix(m[2], ":?") || m[2] == "?" {
			if vars[m[1]] == "" {
				t.Errorf("compose.yaml requires %s; .env does not set it", m[1])
			}
		}
	}
	for k := range vars {
		if !used[k] {
			t.Errorf(".env sets %s, which compose.yaml does not use", k)
		}
	}
}

// helm-values.yaml uses only the chart's values (deploy/helm/auditpipe/values.yaml, when it
// is there); config is the chart's free-form auditpipe.toml tree.
func TestConfigureHelmValues(t *testing.T) {
	dir := t.TempDir()
	configure(t, dir, "teleport.example.com:443", "--cn", "fluentd.example.com").want(t, 0, nil)
	var mine map[string]any
	if err := yaml.Unmarshal(readFile(t, dir, "helm-values.yaml"), &mine); err != nil {
		t.Fatal(err)
	}
	if got := dig(mine, "teleport", "addr"); got != "teleport.example.com:443" {
		t.Errorf("teleport.addr = %v", got)
	}
	if got := dig(mine, "fluentd", "url"); got != "https://fluentd.example.com:8888/teleport.events.log" {
		t.Errorf("fluentd.url = %v", got)
	}
	if got := dig(mine, "ingest", "replicas"); got != 2 {
		t.Errorf("ingest.replicas = %v", got)
	}
	chartValues, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "deploy", "helm", "auditpipe", "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var chart map[string]any
	if err := yaml.Unmarshal(chartValues, &chart); err != nil {
		t.Fatal(err)
	}
	var walk func(path string, mine, chart map[string]any)
	walk = func(path string, mine, chart map[string]any) {
		for k, v := range mine {
			cv, ok := chart[k]
			if !ok {
				t.Errorf("helm-values.yaml sets %s%s, which the chart does not have", path, k)
				continue
			}
			if path == "" && k == "config" {
				continue
			}
			if m, ok := v.(map[string]any); ok {
				cm, ok := cv.(map[string]any)
				if !ok {
					t.Errorf("helm-values.yaml: %s%s is a map, the chart's is %T", path, k, cv)
					continue
				}
				walk(path+k+".", m, cm)
			}
		}
	}
	walk("", mine, chart)
}

func dig(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

// The admin token configure writes opens the admin API whose tokens-file is the admin-tokens
// it wrote.
func TestConfigureAdminToken(t *testing.T) {
	dir := t.TempDir()
	configure(t, dir).want(t, 0, nil)
	e := newAPIEnv(t, func(c *config.Config) { c.Admin.TokensFile = filepath.Join(dir, "admin-tokens") })
	ctl(t, e.env(), "--token-file", filepath.Join(dir, "admin.token"), "pause").want(t, 0, []string{"ingest paused"})
}
