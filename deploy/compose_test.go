package deploy

import (
	"bufio"
	"context"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// composeDir is deploy/compose, relative to the module.
const composeDir = "compose"

// The auditpipe services of compose.yaml, by the pkg/config service each one runs.
var composeServices = map[string]config.Service{
	"auditpipe-ingest":  config.ServiceIngest,
	"auditpipe-shipper": config.ServiceShipper,
	"auditpipe-admin":   config.ServiceAdmin,
}

// loadCompose loads deploy/compose/compose.yaml as `docker compose` does from that directory,
// with .env.example as the .env, env over it (as the shell's environment would be), and the
// given profiles.
func loadCompose(t *testing.T, env map[string]string, profiles ...string) *types.Project {
	t.Helper()
	project, err := loadComposeErr(env, profiles...)
	if err != nil {
		t.Fatalf("load compose.yaml: %v", err)
	}
	return project
}

func loadComposeErr(env map[string]string, profiles ...string) (*types.Project, error) {
	dir, err := filepath.Abs(composeDir)
	if err != nil {
		return nil, err
	}
	var shell []string
	for k, v := range env {
		shell = append(shell, k+"="+v)
	}
	opts, err := cli.NewProjectOptions(
		[]string{filepath.Join(dir, "compose.yaml")},
		cli.WithWorkingDirectory(dir),
		cli.WithEnv(shell),
		cli.WithEnvFiles(filepath.Join(dir, ".env.example")),
		cli.WithDotEnv,
		cli.WithProfiles(profiles),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		return nil, err
	}
	return opts.LoadProject(context.Background())
}

// readEnvExample returns the variables .env.example sets (commented-out examples excluded).
func readEnvExample(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(composeDir, ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf(".env.example: %q is not NAME=value", line)
			continue
		}
		vars[name] = value
	}
	return vars
}

// composeDeployment is what the container of an auditpipe service gets: the compose file's
// auditpipe.toml (as the mount's source on this machine), its interpolated environment, and
// the container paths of its mounts and secrets.
func composeDeployment(t *testing.T, project *types.Project, name string) deployment {
	t.Helper()
	svc, ok := project.Services[name]
	if !ok {
		t.Fatalf("no service %s", name)
	}
	d := deployment{service: composeServices[name]}
	if d.service == config.ServiceIngest {
		d.allowEnv = []string{"AUDITPIPE_OWNER"}
	}
	for _, k := range slices.Sorted(maps.Keys(svc.Environment)) {
		if v := svc.Environment[k]; v != nil {
			d.env = append(d.env, k+"="+*v)
		}
	}
	configPath := envValue(d.env, config.EnvConfig)
	if configPath == "" {
		t.Fatalf("%s: no %s in its environment", name, config.EnvConfig)
	}
	for _, v := range svc.Volumes {
		d.mounts = append(d.mounts, v.Target)
		if v.Target == configPath {
			d.file = v.Source
		}
	}
	for _, s := range svc.Secrets {
		target := s.Target
		if target == "" {
			target = "/run/secrets/" + s.Source
		}
		d.mounts = append(d.mounts, target)
	}
	if d.file == "" {
		t.Fatalf("%s: %s=%s is not mounted", name, config.EnvConfig, configPath)
	}
	return d
}

func envValue(env []string, name string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}

func TestComposeServices(t *testing.T) {
	env := readEnvExample(t)
	project := loadCompose(t, nil)
	if project.Name != "auditpipe" {
		t.Errorf("project name %q, want auditpipe", project.Name)
	}
	want := []string{"auditpipe-admin", "auditpipe-ingest", "auditpipe-shipper", "fluentd", "nats", "redis"}
	if got := project.ServiceNames(); !slices.Equal(got, want) {
		t.Errorf("services without a profile: %v, want %v", got, want)
	}
	if got := project.DisabledServiceNames(); !slices.Equal(got, []string{"teleport-sim"}) {
		t.Errorf("disabled services: %v, want [teleport-sim] (profile demo)", got)
	}

	images := map[string]string{
		"redis":   "redis:7",
		"nats":    "nats:2.10-alpine",
		"fluentd": "fluent/fluentd:v1.19-debian-1",
	}
	for name := range composeServices {
		images[name] = env["AUDITPIPE_IMAGE_REGISTRY"] + "/" + name + ":" + env["AUDITPIPE_IMAGE_TAG"]
	}
	for name, want := range images {
		if got := project.Services[name].Image; got != want {
			t.Errorf("%s: image %q, want %q", name, got, want)
		}
	}

	replicas := map[string]int{"auditpipe-ingest": 2, "auditpipe-shipper": 2, "auditpipe-admin": 1, "redis": 1, "nats": 1, "fluentd": 1}
	for name, want := range replicas {
		svc := project.Services[name]
		if got := svc.GetScale(); got != want {
			t.Errorf("%s: %d replicas, want %d", name, got, want)
		}
	}

	for name, svc := range project.Services {
		if svc.Restart != types.RestartPolicyUnlessStopped {
			t.Errorf("%s: restart %q, want unless-stopped", name, svc.Restart)
		}
		if svc.ContainerName != "" {
			t.Errorf("%s: container_name %q would forbid replicas", name, svc.ContainerName)
		}
	}
}

func TestComposeAuditpipeImagesBuildFromRepo(t *testing.T) {
	root := repoRoot(t)
	project := loadCompose(t, nil, "demo")
	for _, name := range []string{"auditpipe-ingest", "auditpipe-shipper", "auditpipe-admin", "teleport-sim"} {
		svc := project.Services[name]
		if svc.Build == nil {
			t.Errorf("%s: no build section", name)
			continue
		}
		if svc.Build.Context != root {
			t.Errorf("%s: build context %s, want the repository root %s (the Dockerfiles COPY the whole workspace)", name, svc.Build.Context, root)
		}
		dockerfile := filepath.Join(svc.Build.Context, svc.Build.Dockerfile)
		data, err := os.ReadFile(dockerfile)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		// The auditpipe images are distroless: a health check would need a shell or curl.
		if !strings.Contains(string(data), "gcr.io/distroless/static") {
			t.Errorf("%s: %s is not on distroless any more: revisit the health checks", name, dockerfile)
		}
		if svc.HealthCheck != nil && !svc.HealthCheck.Disable {
			t.Errorf("%s: health check %v cannot run in a distroless image", name, svc.HealthCheck.Test)
		}
		if !svc.ReadOnly || !slices.Equal(svc.CapDrop, []string{"ALL"}) {
			t.Errorf("%s: want read_only and cap_drop [ALL], got %v and %v", name, svc.ReadOnly, svc.CapDrop)
		}
		if svc.User != "65532:65532" {
			t.Errorf("%s: user %q, want AUDITPIPE_USER (65532:65532 in .env.example)", name, svc.User)
		}
	}
	admin, err := os.ReadFile(filepath.Join(root, "services/admin/Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"-o /out/auditpipe-admin ./services/admin ", "-o /out/auditpipectl ./services/admin/cmd/auditpipectl", "/usr/local/bin/auditpipectl", "USER nonroot:nonroot", `ENTRYPOINT ["/usr/local/bin/auditpipe-admin"]`} {
		if !strings.Contains(string(admin), want) {
			t.Errorf("services/admin/Dockerfile: no %q", want)
		}
	}
}

func TestComposePortsOnlyAdminOnLoopback(t *testing.T) {
	project := loadCompose(t, nil, "demo")
	for name, svc := range project.Services {
		if name != "auditpipe-admin" {
			if len(svc.Ports) > 0 {
				t.Errorf("%s publishes %v: only the admin API is published", name, svc.Ports)
			}
			continue
		}
		if len(svc.Ports) != 1 {
			t.Fatalf("auditpipe-admin: ports %v, want one", svc.Ports)
		}
		p := svc.Ports[0]
		if p.HostIP != "127.0.0.1" || p.Target != 8080 || p.Published != "8080" {
			t.Errorf("auditpipe-admin: port %+v, want 127.0.0.1:8080:8080", p)
		}
	}
	// ADMIN_PORT moves the host side only.
	project = loadCompose(t, map[string]string{"ADMIN_PORT": "18080"})
	if p := project.Services["auditpipe-admin"].Ports[0]; p.HostIP != "127.0.0.1" || p.Published != "18080" || p.Target != 8080 {
		t.Errorf("ADMIN_PORT=18080: port %+v", p)
	}
}

func TestComposeHealthAndDependencies(t *testing.T) {
	project := loadCompose(t, nil, "demo")
	checked := map[string]bool{}
	for _, name := range []string{"redis", "nats", "fluentd"} {
		hc := project.Services[name].HealthCheck
		if hc == nil || hc.Disable || len(hc.Test) < 2 || hc.Test[0] != "CMD" {
			t.Errorf("%s: health check %+v, want an exec-form (CMD) test", name, hc)
			continue
		}
		checked[name] = true
	}
	wantDeps := map[string][]string{
		"auditpipe-ingest":  {"nats", "redis", "teleport-sim"},
		"auditpipe-shipper": {"fluentd", "nats", "redis", "teleport-sim"},
		"auditpipe-admin":   {"nats", "redis"},
	}
	for name, svc := range project.Services {
		if got, want := slices.Sorted(maps.Keys(svc.DependsOn)), wantDeps[name]; !slices.Equal(got, want) {
			t.Errorf("%s: depends on %v, want %v", name, got, want)
		}
		for dep, cond := range svc.DependsOn {
			if _, ok := project.AllServices()[dep]; !ok {
				t.Errorf("%s depends on %s, which does not exist", name, dep)
			}
			switch cond.Condition {
			case types.ServiceConditionHealthy:
				if !checked[dep] {
					t.Errorf("%s waits for %s to be healthy, which has no health check", name, dep)
				}
			case types.ServiceConditionStarted:
				if checked[dep] {
					t.Errorf("%s waits only for %s to start, which has a health check", name, dep)
				}
			default:
				t.Errorf("%s: depends on %s with condition %q", name, dep, cond.Condition)
			}
			// teleport-sim runs with the demo profile only: without it ingest must still start.
			if cond.Required != (dep != "teleport-sim") {
				t.Errorf("%s: dependency on %s required=%v", name, dep, cond.Required)
			}
		}
	}
	// Without the demo profile the optional dependency on teleport-sim does not stop loading.
	loadCompose(t, nil)
}

func TestComposeVolumesAndSecrets(t *testing.T) {
	project := loadCompose(t, nil, "demo")
	dir, err := filepath.Abs(composeDir)
	if err != nil {
		t.Fatal(err)
	}
	secretsDir := filepath.Join(dir, "secrets")
	inRepo := map[string]bool{}
	for name, svc := range project.Services {
		for _, v := range svc.Volumes {
			switch v.Type {
			case types.VolumeTypeBind:
				if !v.ReadOnly {
					t.Errorf("%s: bind mount %s is writable", name, v.Target)
				}
				if strings.HasPrefix(v.Source, secretsDir+string(filepath.Separator)) {
					continue // written by auditpipectl configure, never committed
				}
				if _, err := os.Stat(v.Source); err != nil {
					t.Errorf("%s: bind mount source: %v", name, err)
				}
				rel, _ := filepath.Rel(dir, v.Source)
				inRepo[rel] = true
			case types.VolumeTypeVolume:
				if _, ok := project.Volumes[v.Source]; !ok {
					t.Errorf("%s: volume %s is not declared", name, v.Source)
				}
			default:
				t.Errorf("%s: unexpected mount type %s at %s", name, v.Type, v.Target)
			}
		}
		for _, s := range svc.Secrets {
			if _, ok := project.Secrets[s.Source]; !ok {
				t.Errorf("%s: secret %s is not declared", name, s.Source)
			}
		}
	}
	for _, want := range []string{"auditpipe.toml", "fluentd/fluent.conf"} {
		if !inRepo[want] {
			t.Errorf("%s is not mounted by any service (mounted from the repository: %v)", want, slices.Sorted(maps.Keys(inRepo)))
		}
	}
	for name, s := range project.Secrets {
		if !strings.HasPrefix(s.File, secretsDir+string(filepath.Separator)) {
			t.Errorf("secret %s is %s, want a file under ./secrets", name, s.File)
		}
	}
	// State survives `docker compose down` (without -v).
	for name, target := range map[string]string{"redis": "/data", "nats": "/data"} {
		if !slices.ContainsFunc(project.Services[name].Volumes, func(v types.ServiceVolumeConfig) bool {
			return v.Type == types.VolumeTypeVolume && v.Target == target
		}) {
			t.Errorf("%s: no named volume at %s", name, target)
		}
	}
	nats := project.Services["nats"].Command
	if !slices.Contains(nats, "-js") || !slices.Contains(nats, "/data") {
		t.Errorf("nats command %v: want JetStream (-js) storing in /data", nats)
	}
	if !slices.Contains(project.Services["redis"].Command, "--appendonly") {
		t.Errorf("redis command %v: want --appendonly yes (cursors and leases must survive a restart)", project.Services["redis"].Command)
	}
}

// TestComposeFluentd checks fluent.conf against compose.yaml and auditpipe.toml: in_http over
// mutual TLS on the port and host the shipper sends to, with every file it reads mounted.
func TestComposeFluentd(t *testing.T) {
	project := loadCompose(t, nil)
	data, err := os.ReadFile(filepath.Join(composeDir, "fluentd", "fluent.conf"))
	if err != nil {
		t.Fatal(err)
	}
	conf := string(data)
	for _, want := range []string{"@type http", "port 8888", "<transport tls>", "client_cert_auth true", "<match teleport.**>"} {
		if !strings.Contains(conf, want) {
			t.Errorf("fluent.conf: no %q", want)
		}
	}
	fluentd := project.Services["fluentd"]
	var mounts []string
	for _, s := range fluentd.Secrets {
		mounts = append(mounts, "/run/secrets/"+s.Source)
	}
	for _, v := range fluentd.Volumes {
		mounts = append(mounts, v.Target)
		if strings.HasSuffix(v.Source, "fluent.conf") && v.Target != "/fluentd/etc/fluent.conf" {
			t.Errorf("fluent.conf is mounted at %s; the image reads /fluentd/etc/fluent.conf", v.Target)
		}
	}
	paths := regexp.MustCompile(`(?m)^\s*(ca_path|cert_path|private_key_path)\s+(\S+)`).FindAllStringSubmatch(conf, -1)
	if len(paths) != 3 {
		t.Fatalf("fluent.conf: TLS paths %v, want ca_path, cert_path, private_key_path", paths)
	}
	for _, m := range paths {
		if !slices.Contains(mounts, m[2]) {
			t.Errorf("fluent.conf: %s %s is not mounted into fluentd (%v)", m[1], m[2], mounts)
		}
	}

	d := composeDeployment(t, project, "auditpipe-shipper")
	cfg := d.validate(t)
	for _, raw := range []string{cfg.Forward.Fluentd.URL, cfg.Forward.Fluentd.SessionURL} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if u.Scheme != "https" || u.Hostname() != "fluentd" || u.Port() != "8888" {
			t.Errorf("fluentd URL %s: want https://fluentd:8888/…", raw)
		}
	}
}

// TestComposeConfigValidates loads auditpipe.toml with each service's compose environment,
// as the service will, and validates it for that service with pkg/config; every file it names
// must be mounted into that service's containers.
func TestComposeConfigValidates(t *testing.T) {
	cases := []struct {
		name     string
		env      map[string]string
		profiles []string
		check    func(t *testing.T, service string, cfg *config.Config)
	}{
		{name: "env example"},
		{
			name:     "demo",
			profiles: []string{"demo"},
			env:      map[string]string{"TELEPORT_ADDR": "teleport-sim:3025", "TELEPORT_IDENTITY": "/var/lib/teleport-sim/creds/identity"},
			check: func(t *testing.T, service string, cfg *config.Config) {
				if service == "auditpipe-ingest" && (cfg.Teleport.Addr != "teleport-sim:3025" || cfg.Teleport.Identity != "/var/lib/teleport-sim/creds/identity") {
					t.Errorf("demo: teleport %s %s", cfg.Teleport.Addr, cfg.Teleport.Identity)
				}
			},
		},
		{
			name: "every sink",
			env:  map[string]string{"SHIPPER_SINKS": "fluentd,datadog,lock", "DD_API_KEY": "0123456789abcdef", "DD_SITE": "datadoghq.eu"},
			check: func(t *testing.T, service string, cfg *config.Config) {
				if service != "auditpipe-shipper" {
					return
				}
				if !slices.Equal(cfg.Shipper.Sinks, []string{"fluentd", "datadog", "lock"}) || cfg.Forward.Datadog.Site != "datadoghq.eu" {
					t.Errorf("sinks %v, site %s", cfg.Shipper.Sinks, cfg.Forward.Datadog.Site)
				}
				if key, err := cfg.Forward.Datadog.APIKey(); err != nil || key.Reveal() != "0123456789abcdef" {
					t.Errorf("DD_API_KEY did not reach the datadog sink: %v", err)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			project := loadCompose(t, tc.env, tc.profiles...)
			for name := range composeServices {
				d := composeDeployment(t, project, name)
				cfg := d.validate(t)
				if tc.check != nil {
					tc.check(t, name, cfg)
				}
				if cfg.Metrics.Listen != ":9090" {
					t.Errorf("%s: metrics.listen %q, want :9090", name, cfg.Metrics.Listen)
				}
				if cfg.Redis.Addr != "redis:6379" || cfg.NATS.URL != "nats://nats:4222" {
					t.Errorf("%s: redis %s, nats %s: want the compose services", name, cfg.Redis.Addr, cfg.NATS.URL)
				}
				if name == "auditpipe-admin" {
					if _, port, _ := net.SplitHostPort(cfg.Admin.Listen); port != "8080" || !strings.HasPrefix(cfg.Admin.Listen, "0.0.0.0:") {
						t.Errorf("admin.listen %q: want 0.0.0.0:8080, the published port's target", cfg.Admin.Listen)
					}
				}
			}
		})
	}
}

// TestComposeEnvironment checks the variables: the AUDITPIPE_* ones given to the services name
// configuration keys (config.Load refuses others, so the test above would fail too: this one
// says which), and every variable compose.yaml interpolates is in .env.example and README.md.
func TestComposeEnvironment(t *testing.T) {
	project := loadCompose(t, nil, "demo")
	for name := range composeServices {
		for k := range project.Services[name].Environment {
			if !strings.HasPrefix(k, "AUDITPIPE_") {
				if !slices.Contains([]string{config.EnvDatadogAPIKey, config.EnvDatadogSite}, k) {
					t.Errorf("%s: variable %s is read by no auditpipe service", name, k)
				}
				continue
			}
			if slices.Contains([]string{config.EnvConfig, config.EnvAdminURL}, k) {
				continue
			}
			if _, _, err := config.Load(config.Sources{Env: []string{k + "=x"}}); err != nil && strings.Contains(err.Error(), "unknown variable") {
				t.Errorf("%s: %s names no configuration key: %v", name, k, err)
			}
		}
	}

	compose, err := os.ReadFile(filepath.Join(composeDir, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(composeDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	example := readEnvExample(t)
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`\$\{([A-Z0-9_]+)`).FindAllStringSubmatch(string(compose), -1) {
		used[m[1]] = true
	}
	for v := range used {
		if _, ok := example[v]; !ok {
			t.Errorf("compose.yaml uses ${%s}, which .env.example does not set", v)
		}
		if !strings.Contains(string(readme), "`"+v+"`") {
			t.Errorf("compose.yaml uses ${%s}, which README.md does not document", v)
		}
	}
	for v := range example {
		if !used[v] {
			t.Errorf(".env.example sets %s, which compose.yaml does not use", v)
		}
	}
	// A missing TELEPORT_ADDR is an error that says what to do, not a silent default.
	if _, err := loadComposeErr(map[string]string{"TELEPORT_ADDR": ""}); err == nil || !strings.Contains(err.Error(), "TELEPORT_ADDR") {
		t.Errorf("empty TELEPORT_ADDR: err %v, want one naming TELEPORT_ADDR", err)
	}
}
