package deploy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/auditpipe/auditpipe/pkg/config"
)

// repoRoot is the repository's root, from the module's directory (deploy/).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.work")); err != nil {
		t.Fatalf("repository root %s: %v", root, err)
	}
	return root
}

// fileKey is a configuration key that names a file a service reads.
type fileKey struct {
	key, path string
}

// filesFor lists the files service reads according to cfg: the ones ValidateFor opens.
func filesFor(cfg *config.Config, service config.Service) []fileKey {
	var files []fileKey
	add := func(key, path string) {
		if path != "" {
			files = append(files, fileKey{key, path})
		}
	}
	teleport := func() {
		add("teleport.identity", cfg.Teleport.Identity)
		add("teleport.ca", cfg.Teleport.CA)
		add("teleport.cert", cfg.Teleport.Cert)
		add("teleport.key", cfg.Teleport.Key)
	}
	redis := func() {
		add("redis.password-file", cfg.Redis.PasswordFile)
		add("redis.tls.ca", cfg.Redis.TLS.CA)
		add("redis.tls.cert", cfg.Redis.TLS.Cert)
		add("redis.tls.key", cfg.Redis.TLS.Key)
	}
	add("nats.creds", cfg.NATS.Creds)
	switch service {
	case config.ServiceIngest:
		teleport()
		redis()
	case config.ServiceShipper:
		if cfg.Shipper.HasSink(config.SinkFluentd) {
			add("forward.fluentd.ca", cfg.Forward.Fluentd.CA)
			add("forward.fluentd.cert", cfg.Forward.Fluentd.Cert)
			add("forward.fluentd.key", cfg.Forward.Fluentd.Key)
		}
		if cfg.Shipper.HasSink(config.SinkDatadog) {
			add("forward.datadog.api-key-file", cfg.Forward.Datadog.APIKeyFile)
		}
		if cfg.Shipper.HasSink(config.SinkLock) {
			teleport()
			redis()
		}
	case config.ServiceAdmin:
		redis()
		add("admin.tokens-file", cfg.Admin.TokensFile)
		add("admin.tls.cert", cfg.Admin.TLS.Cert)
		add("admin.tls.key", cfg.Admin.TLS.Key)
		add("admin.tls.client-ca", cfg.Admin.TLS.ClientCA)
	}
	return files
}

// deployment is what one container of a deployment gives a service: its configuration file
// (a path on this machine), its environment, and the paths its mounts provide.
type deployment struct {
	service  config.Service
	file     string
	env      []string
	allowEnv []string // AUDITPIPE_* names the service claims (ingest's AUDITPIPE_OWNER)
	mounts   []string // container paths of files or directories provided by a mount
}

// provides reports whether a mount provides path: it is a mounted file, or under a mounted
// directory.
func (d deployment) provides(path string) bool {
	return slices.ContainsFunc(d.mounts, func(m string) bool {
		return path == m || strings.HasPrefix(path, strings.TrimSuffix(m, "/")+"/")
	})
}

// validate loads d's configuration as the service will, from its file and environment, and
// checks it as the service does at start (config.ValidateFor). Every file the service reads
// must be provided by one of d's mounts; as the mounted secrets do not exist here, each is
// replaced by a stub file (through Sources.Flags) for ValidateFor, which opens them.
func (d deployment) validate(t *testing.T) *config.Config {
	t.Helper()
	cfg, warnings, err := config.Load(config.Sources{File: d.file, Env: d.env, AllowEnv: d.allowEnv})
	if err != nil {
		t.Fatalf("%s: config.Load: %v", d.service, err)
	}
	for _, w := range warnings {
		t.Errorf("%s: config warning: %s", d.service, w)
	}
	stubs := map[string]string{}
	dir := t.TempDir()
	for _, f := range filesFor(cfg, d.service) {
		if !d.provides(f.path) {
			t.Errorf("%s: %s names %s, which no mount of the container provides (mounts: %v)", d.service, f.key, f.path, d.mounts)
		}
		stub := filepath.Join(dir, strings.ReplaceAll(f.key, ".", "_"))
		if err := os.WriteFile(stub, []byte("stub\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		stubs[f.key] = stub
	}
	stubbed, _, err := config.Load(config.Sources{File: d.file, Env: d.env, AllowEnv: d.allowEnv, Flags: stubs})
	if err != nil {
		t.Fatalf("%s: config.Load with stub files: %v", d.service, err)
	}
	if err := stubbed.ValidateFor(d.service); err != nil {
		t.Errorf("%s: the configuration does not validate:\n%v", d.service, err)
	}
	return cfg
}

// writeTemp writes data to a file in a test's temporary directory and returns its path.
func writeTemp(t *testing.T, name, data string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
