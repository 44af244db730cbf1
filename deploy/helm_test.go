package deploy

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/auditpipe/auditpipe/pkg/config"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	"helm.sh/helm/v3/pkg/releaseutil"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// chartDir is the chart, relative to the module.
var chartDir = filepath.Join("helm", "auditpipe")

const (
	releaseName = "audit"
	namespace   = "security"
)

// The chart's components, by the pkg/config service each one runs.
var helmComponents = map[string]config.Service{
	"ingest":  config.ServiceIngest,
	"shipper": config.ServiceShipper,
	"admin":   config.ServiceAdmin,
}

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	c, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	return c
}

// values parses YAML as `helm install -f` reads a values file.
func values(t *testing.T, doc string) map[string]any {
	t.Helper()
	v, err := chartutil.ReadValues([]byte(doc))
	if err != nil {
		t.Fatalf("values %q: %v", doc, err)
	}
	return v
}

// rendered is a chart rendered with some values, its manifests decoded.
type rendered struct {
	files       map[string]string // template name -> text
	deployments map[string]*appsv1.Deployment
	services    map[string]*corev1.Service
	configMaps  map[string]*corev1.ConfigMap
	pdbs        map[string]*policyv1.PodDisruptionBudget
	other       []map[string]any // kinds without a Go type here (ServiceMonitor)
	kinds       []string
}

// renderChartErr renders the chart as `helm install audit deploy/helm/auditpipe -n security`
// would with vals (schema validation included), and decodes every manifest into its
// Kubernetes API type; unknown fields are errors.
func renderChartErr(c *chart.Chart, vals map[string]any) (*rendered, error) {
	top, err := chartutil.ToRenderValues(c, vals, chartutil.ReleaseOptions{
		Name: releaseName, Namespace: namespace, Revision: 1, IsInstall: true,
	}, chartutil.DefaultCapabilities)
	if err != nil {
		return nil, err
	}
	files, err := engine.Engine{Strict: true}.Render(c, top)
	if err != nil {
		return nil, err
	}
	r := &rendered{
		files:       files,
		deployments: map[string]*appsv1.Deployment{},
		services:    map[string]*corev1.Service{},
		configMaps:  map[string]*corev1.ConfigMap{},
		pdbs:        map[string]*policyv1.PodDisruptionBudget{},
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !strings.HasSuffix(name, ".yaml") {
			continue
		}
		for _, doc := range releaseutil.SplitManifests(files[name]) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			var meta struct{ Kind string }
			if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
				return nil, fmt.Errorf("%s: %w\n%s", name, err, doc)
			}
			if meta.Kind == "" {
				continue // only comments
			}
			r.kinds = append(r.kinds, meta.Kind)
			var (
				obj  any
				save func()
			)
			switch meta.Kind {
			case "Deployment":
				d := &appsv1.Deployment{}
				obj, save = d, func() { r.deployments[d.Labels["app.kubernetes.io/component"]] = d }
			case "Service":
				s := &corev1.Service{}
				obj, save = s, func() { r.services[s.Labels["app.kubernetes.io/component"]] = s }
			case "ConfigMap":
				cm := &corev1.ConfigMap{}
				obj, save = cm, func() { r.configMaps[cm.Name] = cm }
			case "PodDisruptionBudget":
				p := &policyv1.PodDisruptionBudget{}
				obj, save = p, func() { r.pdbs[p.Labels["app.kubernetes.io/component"]] = p }
			case "ServiceAccount":
				obj, save = &corev1.ServiceAccount{}, func() {}
			default:
				m := map[string]any{}
				obj, save = &m, func() { r.other = append(r.other, m) }
			}
			if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
				return nil, fmt.Errorf("%s: %s: %w\n%s", name, meta.Kind, err, doc)
			}
			save()
		}
	}
	return r, nil
}

func renderChart(t *testing.T, c *chart.Chart, vals map[string]any) *rendered {
	t.Helper()
	r, err := renderChartErr(c, vals)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return r
}

// configFile writes the rendered auditpipe.toml to a file and returns its path.
func (r *rendered) configFile(t *testing.T) string {
	t.Helper()
	cm, ok := r.configMaps[releaseName+"-auditpipe"]
	if !ok {
		t.Fatalf("no ConfigMap %s-auditpipe", releaseName)
	}
	toml, ok := cm.Data["auditpipe.toml"]
	if !ok {
		t.Fatal("the ConfigMap has no auditpipe.toml")
	}
	return writeTemp(t, "auditpipe.toml", toml)
}

// helmDeployment is what a component's container gets: the rendered auditpipe.toml (where
// the ConfigMap is mounted), its environment (a fieldRef becomes the pod's name), and its
// mounts.
func helmDeployment(t *testing.T, r *rendered, component string) deployment {
	t.Helper()
	dep, ok := r.deployments[component]
	if !ok {
		t.Fatalf("no Deployment for %s", component)
	}
	c := dep.Spec.Template.Spec.Containers[0]
	d := deployment{service: helmComponents[component], file: r.configFile(t)}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil:
			d.env = append(d.env, e.Name+"="+dep.Name+"-5d4f8b9c7-x2x9z")
		case e.ValueFrom != nil:
			t.Errorf("%s: %s comes from %v; secrets are mounted as files", component, e.Name, e.ValueFrom)
		default:
			d.env = append(d.env, e.Name+"="+e.Value)
		}
	}
	if component == "ingest" {
		d.allowEnv = []string{"AUDITPIPE_OWNER"}
	}
	configPath := envValue(d.env, config.EnvConfig)
	configMounted := false
	for _, m := range c.VolumeMounts {
		if !m.ReadOnly {
			t.Errorf("%s: %s is mounted writable", component, m.MountPath)
		}
		if m.MountPath == configPath {
			configMounted = true
			continue
		}
		if m.SubPath != "" {
			t.Errorf("%s: %s is a subPath mount, which never sees a renewed secret", component, m.MountPath)
		}
		// A secret volume with items provides those files only.
		items := volumeItems(dep, m.Name)
		if items == nil {
			d.mounts = append(d.mounts, m.MountPath)
		}
		for _, item := range items {
			d.mounts = append(d.mounts, m.MountPath+"/"+item.Path)
		}
	}
	if !configMounted {
		t.Fatalf("%s: %s=%q is not mounted", component, config.EnvConfig, configPath)
	}
	return d
}

func TestHelmLint(t *testing.T) {
	cases := map[string]string{
		"defaults": "",
		"overrides": `
shipper: {replicas: 4, sinks: [datadog, lock]}
admin: {enabled: false}
serviceMonitor: {enabled: true}
prometheusRule: {enabled: true, labels: {release: prometheus}}
grafanaDashboard: {enabled: true}
`,
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			linter := lint.All(chartDir, values(t, doc), namespace, false)
			for _, m := range linter.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("helm lint: %s", m)
				} else {
					t.Logf("helm lint: %s", m)
				}
			}
		})
	}
}

func TestHelmDefaults(t *testing.T) {
	c := loadChart(t)
	if c.Metadata.APIVersion != chart.APIVersionV2 || c.Metadata.Type != "application" {
		t.Errorf("Chart.yaml: apiVersion %s, type %s", c.Metadata.APIVersion, c.Metadata.Type)
	}
	if len(c.Schema) == 0 {
		t.Error("no values.schema.json")
	}
	r := renderChart(t, c, nil)
	if r.files["auditpipe/templates/NOTES.txt"] == "" {
		t.Error("NOTES.txt renders empty")
	}
	for component, want := range map[string]int32{"ingest": 2, "shipper": 2, "admin": 1} {
		d, ok := r.deployments[component]
		if !ok {
			t.Errorf("no %s Deployment", component)
			continue
		}
		if d.Spec.Replicas == nil || *d.Spec.Replicas != want {
			t.Errorf("%s: replicas %v, want %d", component, d.Spec.Replicas, want)
		}
		checkPod(t, component, d)
	}
	if len(r.other) != 0 {
		t.Errorf("by default only core kinds, got %v", r.other)
	}

	// AUDITPIPE_OWNER of every ingest replica is its pod's name.
	ingest := r.deployments["ingest"].Spec.Template.Spec.Containers[0]
	owner := findEnv(ingest.Env, "AUDITPIPE_OWNER")
	if owner == nil || owner.ValueFrom == nil || owner.ValueFrom.FieldRef == nil || owner.ValueFrom.FieldRef.FieldPath != "metadata.name" {
		t.Errorf("ingest: AUDITPIPE_OWNER %+v, want a fieldRef to metadata.name", owner)
	}
	for _, component := range []string{"shipper", "admin"} {
		if findEnv(r.deployments[component].Spec.Template.Spec.Containers[0].Env, "AUDITPIPE_OWNER") != nil {
			t.Errorf("%s: AUDITPIPE_OWNER is ingest's variable; config.Load refuses it elsewhere", component)
		}
	}

	// Secrets mounted: which secret each component reads.
	wantSecrets := map[string][]string{
		"ingest":  {"auditpipe-teleport-identity"},
		"shipper": {"auditpipe-fluentd-client"},
		"admin":   {"auditpipe-admin-tokens"},
	}
	for component, want := range wantSecrets {
		if got := secretNames(r.deployments[component]); !slices.Equal(got, want) {
			t.Errorf("%s: secrets %v, want %v", component, got, want)
		}
	}

	// The admin API and every pod's metrics.
	admin := r.services["admin"]
	if admin == nil || admin.Spec.Type != corev1.ServiceTypeClusterIP || len(admin.Spec.Ports) != 1 ||
		admin.Spec.Ports[0].Port != 8080 || admin.Spec.Ports[0].TargetPort != intstr.FromString("http") {
		t.Errorf("admin Service: %+v", admin)
	} else if !selects(admin.Spec.Selector, r.deployments["admin"]) {
		t.Errorf("admin Service selector %v misses the admin pods", admin.Spec.Selector)
	}
	metrics := r.services["metrics"]
	if metrics == nil || metrics.Spec.ClusterIP != corev1.ClusterIPNone || metrics.Spec.Ports[0].TargetPort != intstr.FromString("metrics") {
		t.Errorf("metrics Service: %+v", metrics)
	} else {
		for component, d := range r.deployments {
			if !selects(metrics.Spec.Selector, d) {
				t.Errorf("the metrics Service misses the %s pods", component)
			}
		}
	}

	// One PodDisruptionBudget per component, selecting its pods only.
	for component := range r.deployments {
		pdb, ok := r.pdbs[component]
		if !ok {
			t.Errorf("no PodDisruptionBudget for %s", component)
			continue
		}
		if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 {
			t.Errorf("%s PDB: maxUnavailable %v", component, pdb.Spec.MaxUnavailable)
		}
		for other, od := range r.deployments {
			if got := selects(pdb.Spec.Selector.MatchLabels, od); got != (other == component) {
				t.Errorf("%s PDB selects %s pods: %v", component, other, got)
			}
		}
	}

	// The rendered auditpipe.toml validates for every service, its files mounted.
	for component := range helmComponents {
		cfg := helmDeployment(t, r, component).validate(t)
		if cfg.Metrics.Listen != ":9090" {
			t.Errorf("%s: metrics.listen %q; the probes use port 9090", component, cfg.Metrics.Listen)
		}
		if cfg.Batch != 500 || cfg.Log.Format != "json" {
			t.Errorf("%s: values.config did not reach the file: batch %d, log.format %q", component, cfg.Batch, cfg.Log.Format)
		}
	}
}

// checkPod checks what every pod of the chart must have: probes on the metrics port, a
// non-root read-only container, read-only secrets, resources, the config checksum.
func checkPod(t *testing.T, component string, d *appsv1.Deployment) {
	t.Helper()
	spec := d.Spec.Template.Spec
	if got := d.Spec.Selector.MatchLabels["app.kubernetes.io/component"]; got != component {
		t.Errorf("%s: selector component %q", component, got)
	}
	if !selects(d.Spec.Selector.MatchLabels, d) {
		t.Errorf("%s: the selector misses the pod template's labels", component)
	}
	if _, ok := d.Spec.Template.Annotations["checksum/config"]; !ok {
		t.Errorf("%s: no checksum/config annotation", component)
	}
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != 65532 || psc.FSGroup == nil {
		t.Errorf("%s: pod security context %+v, want runAsNonRoot, runAsUser 65532, fsGroup", component, psc)
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("%s: the service account token is mounted; auditpipe does not call Kubernetes", component)
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("%s: %d containers", component, len(spec.Containers))
	}
	c := spec.Containers[0]
	if !strings.HasPrefix(c.Image, "docker.io/auditpipe/auditpipe-"+component+":") {
		t.Errorf("%s: image %s", component, c.Image)
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("%s: container security context %+v", component, sc)
	}
	metricsPort := int32(0)
	for _, p := range c.Ports {
		if p.Name == "metrics" {
			metricsPort = p.ContainerPort
		}
	}
	if metricsPort != 9090 {
		t.Errorf("%s: metrics port %d", component, metricsPort)
	}
	for probe, want := range map[*corev1.Probe]string{c.LivenessProbe: "/healthz", c.ReadinessProbe: "/readyz"} {
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != want || probe.HTTPGet.Port != intstr.FromString("metrics") {
			t.Errorf("%s: probe %+v, want GET %s on the metrics port", component, probe, want)
		}
	}
	if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("%s: resources %+v", component, c.Resources)
	}
	for _, v := range spec.Volumes {
		if v.Secret != nil && (v.Secret.DefaultMode == nil || *v.Secret.DefaultMode != 0o440) {
			t.Errorf("%s: secret volume %s mode %v, want 0440", component, v.Name, v.Secret.DefaultMode)
		}
	}
	if findEnv(c.Env, config.EnvConfig) == nil {
		t.Errorf("%s: no %s", component, config.EnvConfig)
	}
}

func TestHelmOverrides(t *testing.T) {
	c := loadChart(t)
	r := renderChart(t, c, values(t, `
ingest: {replicas: 3}
shipper:
  replicas: 5
  sinks: [datadog]
admin: {enabled: false}
serviceMonitor: {enabled: true, labels: {release: prometheus}}
config:
  start-time: "2025-01-01T00:00:00Z"
  window-size: 1h
  lock-period: 5m
  nats: {replicas: 3, max-bytes: 53687091200}
  shipper: {max-in-flight: 5000}
  forward: {datadog: {tags: ["env:prod", "team:security"]}}
`))
	if got := *r.deployments["ingest"].Spec.Replicas; got != 3 {
		t.Errorf("ingest replicas %d, want 3", got)
	}
	if got := *r.deployments["shipper"].Spec.Replicas; got != 5 {
		t.Errorf("shipper replicas %d, want 5", got)
	}
	if _, ok := r.deployments["admin"]; ok {
		t.Error("admin.enabled=false still renders the admin Deployment")
	}
	if _, ok := r.services["admin"]; ok {
		t.Error("admin.enabled=false still renders the admin Service")
	}
	if _, ok := r.pdbs["admin"]; ok {
		t.Error("admin.enabled=false still renders the admin PodDisruptionBudget")
	}
	if got := secretNames(r.deployments["shipper"]); !slices.Equal(got, []string{"auditpipe-datadog"}) {
		t.Errorf("shipper with sinks [datadog]: secrets %v, want the Datadog key only", got)
	}

	if len(r.other) != 1 || r.other[0]["kind"] != "ServiceMonitor" {
		t.Fatalf("serviceMonitor.enabled: other objects %v, want one ServiceMonitor", r.other)
	}
	sm := r.other[0]
	if lookup(sm, "apiVersion") != "monitoring.coreos.com/v1" || lookup(sm, "metadata", "labels", "release") != "prometheus" {
		t.Errorf("ServiceMonitor: %v", sm)
	}
	endpoint := lookup(sm, "spec", "endpoints").([]any)[0].(map[string]any)
	if endpoint["port"] != "metrics" || endpoint["path"] != "/metrics" {
		t.Errorf("ServiceMonitor endpoint %v", endpoint)
	}
	selector := lookup(sm, "spec", "selector", "matchLabels").(map[string]any)
	for k, v := range selector {
		if r.services["metrics"].Labels[k] != v {
			t.Errorf("the ServiceMonitor selects %s=%v, which the metrics Service does not have", k, v)
		}
	}

	for _, component := range []string{"ingest", "shipper"} {
		cfg := helmDeployment(t, r, component).validate(t)
		if !slices.Equal(cfg.Shipper.Sinks, []string{"datadog"}) || cfg.Forward.Datadog.APIKeyFile != "/etc/auditpipe/datadog/api-key" {
			t.Errorf("%s: sinks %v, api-key-file %q", component, cfg.Shipper.Sinks, cfg.Forward.Datadog.APIKeyFile)
		}
		// Numbers stay integers through values files, large ones too; durations and times
		// arrive as such.
		if cfg.NATS.Replicas != 3 || cfg.NATS.MaxBytes != 50<<30 || cfg.Shipper.MaxInFlight != 5000 ||
			cfg.WindowSize.String() != "1h0m0s" || cfg.StartTime.Year() != 2025 ||
			!slices.Equal(cfg.Forward.Datadog.Tags, []string{"env:prod", "team:security"}) {
			t.Errorf("%s: values.config did not arrive intact:\n%s", component, cfg)
		}
		if cfg.Forward.Fluentd.URL != "" {
			t.Errorf("%s: forward.fluentd set without the fluentd sink (a warning at every start)", component)
		}
	}

	// The lock sink reads Teleport and Redis as ingest does: the shipper mounts the identity.
	r = renderChart(t, c, values(t, `
shipper: {sinks: [fluentd, lock]}
secrets:
  redisPassword: {name: redis-auth}
  natsCreds: {name: nats-user}
redis: {url: "rediss://redis.example.com:6380"}
`))
	if got := secretNames(r.deployments["shipper"]); !slices.Equal(got, []string{"auditpipe-fluentd-client", "auditpipe-teleport-identity", "nats-user", "redis-auth"}) {
		t.Errorf("shipper with the lock sink: secrets %v", got)
	}
	for component := range helmComponents {
		cfg := helmDeployment(t, r, component).validate(t)
		if cfg.Redis.URL != "rediss://redis.example.com:6380" || cfg.Redis.Addr != "" || !cfg.Redis.TLS.Enabled {
			t.Errorf("%s: redis %+v", component, cfg.Redis)
		}
	}

	// Every component uses Redis (the shipper at least for the replicas register), so each
	// mounts its password; Sentinel and Cluster addresses reach every configuration.
	for _, tt := range []struct {
		doc, master string
		cluster     bool
	}{
		{doc: `redis: {addrs: ["sentinel-0:26379", "sentinel-1:26379"], masterName: mymaster}`, master: "mymaster"},
		{doc: `redis: {addrs: ["redis-0:6379", "redis-1:6379", "redis-2:6379"], cluster: true}`, cluster: true},
	} {
		r = renderChart(t, c, values(t, tt.doc+"\nsecrets: {redisPassword: {name: redis-auth}}"))
		if got := secretNames(r.deployments["shipper"]); !slices.Contains(got, "redis-auth") {
			t.Errorf("shipper without the lock sink does not mount the Redis password: %v", got)
		}
		for component := range helmComponents {
			cfg := helmDeployment(t, r, component).validate(t)
			if len(cfg.Redis.Addrs) < 2 || cfg.Redis.Addr != "" || cfg.Redis.MasterName != tt.master || cfg.Redis.Cluster != tt.cluster ||
				cfg.Redis.PasswordFile == "" {
				t.Errorf("%s with %s: redis %+v", component, tt.doc, cfg.Redis)
			}
		}
	}
}

// TestHelmConfigChecksum: a change of auditpipe.toml changes every pod template, so that
// `helm upgrade` rolls the pods; other values leave it alone.
func TestHelmConfigChecksum(t *testing.T) {
	c := loadChart(t)
	checksums := func(doc string) map[string]string {
		r := renderChart(t, c, values(t, doc))
		sums := map[string]string{}
		for component, d := range r.deployments {
			sums[component] = d.Spec.Template.Annotations["checksum/config"]
		}
		return sums
	}
	base := checksums("")
	for component, sum := range checksums("config: {batch: 1000}") {
		if sum == base[component] {
			t.Errorf("%s: config.batch changed, the checksum did not", component)
		}
	}
	for component, sum := range checksums("nats: {url: nats://nats.other:4222}") {
		if sum == base[component] {
			t.Errorf("%s: nats.url changed, the checksum did not", component)
		}
	}
	for component, sum := range checksums("ingest: {replicas: 7}") {
		if sum != base[component] {
			t.Errorf("%s: ingest.replicas changed the config checksum", component)
		}
	}
}

func TestHelmSchemaRejects(t *testing.T) {
	c := loadChart(t)
	cases := map[string]string{
		"negative replicas":   "ingest: {replicas: -1}",
		"fractional replicas": "shipper: {replicas: 1.5}",
		"unknown sink":        "shipper: {sinks: [kafka]}",
		"no sink":             "shipper: {sinks: []}",
		"repeated sink":       "shipper: {sinks: [fluentd, fluentd]}",
		"root pods":           "podSecurityContext: {runAsNonRoot: false}",
		"http fluentd":        "fluentd: {url: http://fluentd:8888/x}",
		"unknown value":       "ingset: {replicas: 2}",
		"bad pull policy":     "image: {pullPolicy: Sometimes}",
		"unknown datadog":     "datadog: {site: datadoghq.org}",
		"redis addrs no port": `redis: {addrs: ["redis-0"]}`,
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := renderChartErr(c, values(t, doc))
			if err == nil || !strings.Contains(err.Error(), "schema") {
				t.Errorf("%s: err %v, want a schema error", doc, err)
			}
		})
	}
	// What the chart refuses beyond the schema: a sink without its secret.
	for doc, want := range map[string]string{
		"shipper: {sinks: [datadog]}\nsecrets: {datadogAPIKey: {name: ''}}": "secrets.datadogAPIKey.name",
		"secrets: {adminTokens: {name: ''}}":                                "secrets.adminTokens.name",
		"secrets: {teleportIdentity: {name: ''}}":                           "secrets.teleportIdentity.name",
	} {
		if _, err := renderChartErr(c, values(t, doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want one naming %s", doc, err, want)
		}
	}
}

// volumeItems returns the items of the secret volume name of d's pods, nil for other volumes.
func volumeItems(d *appsv1.Deployment, name string) []corev1.KeyToPath {
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Name == name && v.Secret != nil {
			return v.Secret.Items
		}
	}
	return nil
}

func findEnv(env []corev1.EnvVar, name string) *corev1.EnvVar {
	for i := range env {
		if env[i].Name == name {
			return &env[i]
		}
	}
	return nil
}

// secretNames are the secrets a Deployment's pods mount, sorted.
func secretNames(d *appsv1.Deployment) []string {
	var names []string
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Secret != nil {
			names = append(names, v.Secret.SecretName)
		}
	}
	sort.Strings(names)
	return names
}

// selects reports whether selector matches the pod template of d.
func selects(selector map[string]string, d *appsv1.Deployment) bool {
	for k, v := range selector {
		if d.Spec.Template.Labels[k] != v {
			return false
		}
	}
	return len(selector) > 0
}

func lookup(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[p]
	}
	return v
}
