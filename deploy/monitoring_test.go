package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/template"

	"github.com/VictoriaMetrics/metricsql"
	"sigs.k8s.io/yaml"
)

// The monitoring files live in the chart, which reads them with .Files.Get; Prometheus and
// Grafana outside Kubernetes load the same files (docs/operations.md, "Monitoring").
var (
	alertsFile    = filepath.Join(chartDir, "monitoring", "auditpipe-alerts.yaml")
	dashboardFile = filepath.Join(chartDir, "monitoring", "auditpipe-dashboard.json")
	operationsDoc = filepath.Join("..", "docs", "operations.md")
)

// ruleFile is a Prometheus rules file, as `promtool check rules` reads it (alerting rules
// only: auditpipe ships no recording rules).
type ruleFile struct {
	Groups []ruleGroup `json:"groups"`
}

type ruleGroup struct {
	Name     string `json:"name"`
	Interval string `json:"interval,omitempty"`
	Rules    []rule `json:"rules"`
}

type rule struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// readRules reads the rules file; unknown fields are errors.
func readRules(t *testing.T) ruleFile {
	t.Helper()
	data, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	return f
}

func (f ruleFile) rules() []rule {
	var all []rule
	for _, g := range f.Groups {
		all = append(all, g.Rules...)
	}
	return all
}

var (
	alertName = regexp.MustCompile(`^Auditpipe[A-Z][A-Za-z]+$`)
	// A Prometheus duration (model.ParseDuration): units from the largest down, each once.
	promDuration = regexp.MustCompile(`^(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$`)
	severities   = []string{"critical", "warning", "info"}
	runbookURL   = regexp.MustCompile(`^https://github\.com/auditpipe/auditpipe/blob/main/docs/operations\.md#([a-z0-9-]+)$`)
)

// TestHelmAlertRulesFile checks the rules file as Prometheus would load it, and what
// makes an alert useful: every expression is PromQL that Prometheus accepts (parsed with
// metricsql, its MetricsQL extensions refused), every rule has a severity, a summary and a
// description whose templates parse, and a runbook that exists in docs/operations.md. That
// each metric and label exists is proven against the running services by test/metrics.
func TestHelmAlertRulesFile(t *testing.T) {
	f := readRules(t)
	if len(f.Groups) == 0 {
		t.Fatal("no rule groups")
	}
	anchors := headingAnchors(t, operationsDoc)
	groups, alerts := map[string]bool{}, map[string]bool{}
	for _, g := range f.Groups {
		if g.Name == "" || groups[g.Name] {
			t.Errorf("group %q: empty or repeated name", g.Name)
		}
		groups[g.Name] = true
		if len(g.Rules) == 0 {
			t.Errorf("group %s has no rules", g.Name)
		}
		for _, r := range g.Rules {
			name := g.Name + "/" + r.Alert
			if !alertName.MatchString(r.Alert) || alerts[r.Alert] {
				t.Errorf("%s: alert name not Auditpipe<Name>, or repeated", name)
			}
			alerts[r.Alert] = true
			if err := checkPromQL(r.Expr); err != nil {
				t.Errorf("%s: expr %q: %v", name, r.Expr, err)
			}
			if r.For != "" && (r.For == "0" || !promDuration.MatchString(r.For)) {
				t.Errorf("%s: for %q is not a Prometheus duration", name, r.For)
			}
			if !slices.Contains(severities, r.Labels["severity"]) || len(r.Labels) != 1 {
				t.Errorf("%s: labels %v, want severity (one of %v) only", name, r.Labels, severities)
			}
			for _, key := range []string{"summary", "description", "runbook_url"} {
				if strings.TrimSpace(r.Annotations[key]) == "" {
					t.Errorf("%s: no %s annotation", name, key)
				}
			}
			if len(r.Annotations) != 3 {
				t.Errorf("%s: annotations %v, want summary, description and runbook_url", name, r.Annotations)
			}
			for key, text := range r.Annotations {
				if err := checkAlertTemplate(text); err != nil {
					t.Errorf("%s: annotation %s: %v", name, key, err)
				}
			}
			m := runbookURL.FindStringSubmatch(r.Annotations["runbook_url"])
			switch {
			case m == nil:
				t.Errorf("%s: runbook_url %q is not docs/operations.md#…", name, r.Annotations["runbook_url"])
			case m[1] != strings.ToLower(r.Alert):
				t.Errorf("%s: runbook_url #%s, want #%s (the alert's heading)", name, m[1], strings.ToLower(r.Alert))
			case !anchors[m[1]]:
				t.Errorf("%s: docs/operations.md has no heading #%s", name, m[1])
			}
		}
	}
	// What the operator asks first must be alerted on (docs/metrics.md, "Questions").
	for _, want := range []string{
		"AuditpipeIngestLagHigh", "AuditpipeIngestNotPublishing", "AuditpipeIngestDown",
		"AuditpipeSinkBlocked", "AuditpipeSinkHTTPErrors", "AuditpipeEventsDeadLettered",
		"AuditpipeDLQNotEmpty", "AuditpipeConsumerBacklogGrowing",
		"AuditpipeTeleportCertExpiresSoon", "AuditpipeTeleportCertExpired", "AuditpipeTeleportErrors",
		"AuditpipeShipperDown", "AuditpipeNoLiveIngestReplica", "AuditpipeNoLiveShipperReplica",
	} {
		if !alerts[want] {
			t.Errorf("no alert %s", want)
		}
	}
}

// checkAlertTemplate parses an annotation as Prometheus expands it: Go text/template with
// $labels, $value and $externalLabels defined and Prometheus's functions, and runs it.
func checkAlertTemplate(text string) error {
	funcs := template.FuncMap{}
	for _, name := range []string{"humanize", "humanize1024", "humanizeDuration", "humanizePercentage",
		"humanizeTimestamp", "title", "toUpper", "toLower", "stripPort", "stripDomain", "toTime", "toDuration"} {
		funcs[name] = func(v any) string { return fmt.Sprint(v) }
	}
	const defs = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"
	tmpl, err := template.New("annotation").Option("missingkey=zero").Funcs(funcs).Parse(defs + text)
	if err != nil {
		return err
	}
	data := map[string]any{"Labels": map[string]string{}, "ExternalLabels": map[string]string{}, "ExternalURL": "", "Value": 1.5}
	return tmpl.Execute(&bytes.Buffer{}, data)
}

// PromQL's functions and aggregations (prometheus/promql/parser), the ones metricsql also
// knows; metricsql accepts many more, which Prometheus refuses.
var (
	promRangeFuncs = []string{"rate", "irate", "increase", "delta", "idelta", "deriv", "predict_linear",
		"changes", "resets", "avg_over_time", "min_over_time", "max_over_time", "sum_over_time",
		"count_over_time", "last_over_time", "present_over_time", "absent_over_time", "quantile_over_time",
		"stddev_over_time", "stdvar_over_time", "holt_winters"}
	promFuncs = []string{"abs", "absent", "ceil", "clamp", "clamp_max", "clamp_min", "day_of_month",
		"day_of_week", "day_of_year", "days_in_month", "exp", "floor", "histogram_quantile", "hour",
		"label_join", "label_replace", "ln", "log10", "log2", "minute", "month", "round", "scalar",
		"sgn", "sort", "sort_desc", "sqrt", "time", "timestamp", "vector", "year"}
	promAggrs = []string{"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
		"count_values", "bottomk", "topk", "quantile"}
	promBinaryOps = []string{"+", "-", "*", "/", "%", "^", "==", "!=", ">", "<", ">=", "<=",
		"and", "or", "unless", "atan2"}
)

// checkPromQL parses expr with metricsql and refuses what only MetricsQL allows: functions
// Prometheus does not have, range functions without a [range], or-filters, limits, fills,
// keep_metric_names, WITH templates and selectors without a metric name.
func checkPromQL(expr string) error {
	e, err := metricsql.Parse(expr)
	if err != nil {
		return err
	}
	if strings.Contains(strings.ToLower(expr), "with (") || strings.Contains(strings.ToLower(expr), "with(") {
		return fmt.Errorf("WITH templates are MetricsQL only")
	}
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	metricsql.VisitAll(e, func(x metricsql.Expr) {
		switch x := x.(type) {
		case *metricsql.MetricExpr:
			if len(x.LabelFilterss) != 1 {
				fail("or-filters in %s", x.AppendString(nil))
				return
			}
			if lfs := x.LabelFilterss[0]; len(lfs) == 0 || lfs[0].Label != "__name__" || lfs[0].IsRegexp || lfs[0].IsNegative {
				fail("selector %s has no metric name", x.AppendString(nil))
			}
		case *metricsql.FuncExpr:
			switch {
			case x.KeepMetricNames:
				fail("keep_metric_names")
			case slices.Contains(promRangeFuncs, x.Name):
				idx := metricsql.GetRollupArgIdx(x)
				if idx < 0 || idx >= len(x.Args) {
					fail("%s without its range vector", x.Name)
					return
				}
				if re, ok := x.Args[idx].(*metricsql.RollupExpr); !ok || re.Window == nil {
					fail("%s(…) needs a [range]", x.Name)
				}
			case !slices.Contains(promFuncs, x.Name):
				fail("%s is not a Prometheus function", x.Name)
			}
		case *metricsql.AggrFuncExpr:
			if !slices.Contains(promAggrs, x.Name) || x.Limit != 0 {
				fail("aggregation %s is not Prometheus's", x.AppendString(nil))
			}
		case *metricsql.BinaryOpExpr:
			if !slices.Contains(promBinaryOps, strings.ToLower(x.Op)) || x.JoinModifierPrefix != nil ||
				x.FillLeft != nil || x.FillRight != nil || x.KeepMetricNames {
				fail("operator %q with MetricsQL modifiers", x.Op)
			}
		case *metricsql.RollupExpr:
			for _, d := range []*metricsql.DurationExpr{x.Window, x.Step, x.Offset} {
				if d != nil && !promDuration.MatchString(string(d.AppendString(nil))) {
					fail("duration %s is not Prometheus's", d.AppendString(nil))
				}
			}
		}
	})
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// headingAnchors returns the anchors GitHub gives the Markdown headings of path: lower
// case, punctuation dropped, spaces to hyphens, repeats numbered -1, -2, ….
func headingAnchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	seen := map[string]int{}
	inCode := false
	for line := range strings.Lines(string(data)) {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
		}
		if inCode || !strings.HasPrefix(line, "#") {
			continue
		}
		text := strings.TrimSpace(strings.TrimLeft(line, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(text) {
			switch {
			case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteRune('-')
			}
		}
		a := b.String()
		if n := seen[a]; n > 0 {
			anchors[fmt.Sprintf("%s-%d", a, n)] = true
		} else {
			anchors[a] = true
		}
		seen[a]++
	}
	return anchors
}

// dashboard is the part of a Grafana dashboard the tests read.
type dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ H, W, X, Y int } `json:"gridPos"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's
}

func readDashboard(t *testing.T, data []byte) dashboard {
	t.Helper()
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	return d
}

// grafanaVars replaces Grafana's interval variables with durations, so that an expression
// parses as Prometheus will get it; $namespace and $job stay inside label values.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "6h")

// TestHelmDashboardFile: the dashboard is JSON Grafana imports, with a Prometheus data
// source variable; every panel has queries, each of which is PromQL Prometheus accepts, and
// a place on the grid.
func TestHelmDashboardFile(t *testing.T) {
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	d := readDashboard(t, data)
	if d.UID == "" || d.Title == "" {
		t.Errorf("uid %q, title %q", d.UID, d.Title)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
	}
	if vars["datasource"] != "datasource" {
		t.Errorf("templating: %v, want a datasource variable", vars)
	}
	ids := map[int]bool{}
	var queries int
	var check func(p panel)
	check = func(p panel) {
		if ids[p.ID] {
			t.Errorf("panel %q: id %d repeated", p.Title, p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.W <= 0 || p.GridPos.X+p.GridPos.W > 24 || p.GridPos.H <= 0 {
			t.Errorf("panel %q: gridPos %+v", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			for _, c := range p.Panels {
				check(c)
			}
			return
		}
		if p.Title == "" || len(p.Targets) == 0 {
			t.Errorf("panel %d %q: no title or no targets", p.ID, p.Title)
		}
		if p.Datasource == nil || p.Datasource.Type != "prometheus" || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: datasource %+v, want the ${datasource} variable", p.Title, p.Datasource)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			queries++
			if tg.RefID == "" || refs[tg.RefID] {
				t.Errorf("panel %q: refId %q empty or repeated", p.Title, tg.RefID)
			}
			refs[tg.RefID] = true
			if err := checkPromQL(grafanaVars.Replace(tg.Expr)); err != nil {
				t.Errorf("panel %q: expr %q: %v", p.Title, tg.Expr, err)
			}
		}
	}
	for _, p := range d.Panels {
		check(p)
	}
	if queries < 20 {
		t.Errorf("%d queries: the dashboard lost its panels?", queries)
	}
}

// TestHelmPromQLCheck: checkPromQL refuses what Prometheus would.
func TestHelmPromQLCheck(t *testing.T) {
	for _, tt := range []struct {
		given   string
		wantErr bool
	}{
		{given: `sum by (sink) (rate(auditpipe_shipper_delivered_total[5m])) > 0`},
		{given: `absent(auditpipe_ingest_lag_seconds)`},
		{given: `histogram_quantile(0.99, sum by (le) (rate(x_bucket{a=~"$x"}[5m])))`},
		{given: `a / ignoring (code) group_left sum by (sink) (b)`},
		{given: `sum(rate(x[5m]`, wantErr: true},
		{given: `rate(x)`, wantErr: true},
		{given: `sum(x) limit 3`, wantErr: true},
		{given: `range_median(x)`, wantErr: true},
		{given: `x{a="1" or b="2"}`, wantErr: true},
		{given: `{job="x"}`, wantErr: true},
		{given: `x default 0`, wantErr: true},
		{given: `WITH (y = x) y`, wantErr: true},
	} {
		if err := checkPromQL(tt.given); (err != nil) != tt.wantErr {
			t.Errorf("checkPromQL(%q) = %v, want error %v", tt.given, err, tt.wantErr)
		}
	}
}

// prometheusRule is monitoring.coreos.com/v1 PrometheusRule, the fields the chart sets.
type prometheusRule struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace"`
		Labels    map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec ruleFile `json:"spec"`
}

// renderedRule returns the one PrometheusRule of r, decoded strictly.
func renderedRule(t *testing.T, r *rendered) (prometheusRule, bool) {
	t.Helper()
	var found []prometheusRule
	for _, obj := range r.other {
		if obj["kind"] != "PrometheusRule" {
			continue
		}
		data, err := yaml.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		var pr prometheusRule
		if err := yaml.UnmarshalStrict(data, &pr); err != nil {
			t.Fatalf("PrometheusRule: %v\n%s", err, data)
		}
		found = append(found, pr)
	}
	if len(found) > 1 {
		t.Fatalf("%d PrometheusRules", len(found))
	}
	if len(found) == 0 {
		return prometheusRule{}, false
	}
	return found[0], true
}

// TestHelmPrometheusRule: with prometheusRule.enabled the chart renders the rules file's
// groups and rules unchanged as a PrometheusRule, with its labels, namespace and extra alert
// labels; disabled alerts and, without the admin service, the alerts on its metrics are
// left out; nothing is rendered by default.
func TestHelmPrometheusRule(t *testing.T) {
	c := loadChart(t)
	file := readRules(t)
	if _, ok := renderedRule(t, renderChart(t, c, nil)); ok {
		t.Error("a PrometheusRule by default")
	}

	r := renderChart(t, c, values(t, `
prometheusRule:
  enabled: true
  labels: {release: kube-prometheus-stack}
  namespace: monitoring
  additionalRuleLabels: {team: security, severity: page}
`))
	pr, ok := renderedRule(t, r)
	if !ok {
		t.Fatal("prometheusRule.enabled: no PrometheusRule")
	}
	if pr.APIVersion != "monitoring.coreos.com/v1" || pr.Metadata.Name != releaseName+"-auditpipe" ||
		pr.Metadata.Namespace != "monitoring" || pr.Metadata.Labels["release"] != "kube-prometheus-stack" ||
		pr.Metadata.Labels["app.kubernetes.io/instance"] != releaseName {
		t.Errorf("PrometheusRule metadata: %s %+v", pr.APIVersion, pr.Metadata)
	}
	if len(pr.Spec.Groups) != len(file.Groups) {
		t.Fatalf("%d groups, want the file's %d", len(pr.Spec.Groups), len(file.Groups))
	}
	for i, g := range pr.Spec.Groups {
		want := file.Groups[i]
		if g.Name != want.Name || len(g.Rules) != len(want.Rules) {
			t.Errorf("group %d: %s with %d rules, want %s with %d", i, g.Name, len(g.Rules), want.Name, len(want.Rules))
			continue
		}
		for j, got := range g.Rules {
			w := want.Rules[j]
			if got.Alert != w.Alert || got.Expr != w.Expr || got.For != w.For || !maps.Equal(got.Annotations, w.Annotations) {
				t.Errorf("%s: rendered %+v, want the file's %+v", w.Alert, got, w)
			}
			if got.Labels["team"] != "security" || got.Labels["severity"] != w.Labels["severity"] || len(got.Labels) != len(w.Labels)+1 {
				t.Errorf("%s: labels %v, want %v plus team (the rule's severity wins)", w.Alert, got.Labels, w.Labels)
			}
		}
	}

	// Without admin, rules on its metrics cannot fire: left out. Disabled alerts too.
	r = renderChart(t, c, values(t, `
admin: {enabled: false}
prometheusRule: {enabled: true, disabledAlerts: [AuditpipeIngestPaused]}
`))
	pr, _ = renderedRule(t, r)
	if pr.Metadata.Namespace != namespace {
		t.Errorf("namespace %q, want the release's %q", pr.Metadata.Namespace, namespace)
	}
	var got, want []string
	for _, rl := range pr.Spec.rules() {
		got = append(got, rl.Alert)
	}
	for _, rl := range file.rules() {
		if rl.Alert != "AuditpipeIngestPaused" && !strings.Contains(rl.Expr, "auditpipe_admin_") {
			want = append(want, rl.Alert)
		}
	}
	if !slices.Equal(got, want) || slices.Contains(got, "AuditpipeDLQNotEmpty") {
		t.Errorf("admin disabled, AuditpipeIngestPaused disabled: alerts %v, want %v", got, want)
	}
	for _, g := range pr.Spec.Groups {
		if len(g.Rules) == 0 {
			t.Errorf("group %s rendered without rules (Prometheus refuses it)", g.Name)
		}
	}

	if _, err := renderChartErr(c, values(t, "prometheusRule: {enabled: true, disabledAlerts: [AuditpipeNoSuchAlert]}")); err == nil ||
		!strings.Contains(err.Error(), "AuditpipeNoSuchAlert") {
		t.Errorf("an unknown disabled alert: err %v, want one naming it", err)
	}
}

// TestHelmGrafanaDashboard: with grafanaDashboard.enabled the chart renders the dashboard
// file, byte for byte, in a ConfigMap labelled for the Grafana sidecar; nothing by default.
func TestHelmGrafanaDashboard(t *testing.T) {
	c := loadChart(t)
	name := releaseName + "-auditpipe-dashboard"
	if _, ok := renderChart(t, c, nil).configMaps[name]; ok {
		t.Error("a dashboard ConfigMap by default")
	}
	file, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	for doc, want := range map[string]struct {
		labels      map[string]string
		annotations map[string]string
		namespace   string
	}{
		"grafanaDashboard: {enabled: true}": {labels: map[string]string{"grafana_dashboard": "1"}, namespace: namespace},
		"grafanaDashboard: {enabled: true, labels: {grafana: dashboards}, annotations: {grafana_folder: Security}, namespace: grafana}": {
			labels: map[string]string{"grafana": "dashboards"}, annotations: map[string]string{"grafana_folder": "Security"}, namespace: "grafana"},
	} {
		r := renderChart(t, c, values(t, doc))
		cm, ok := r.configMaps[name]
		if !ok {
			t.Errorf("%s: no ConfigMap %s", doc, name)
			continue
		}
		for k, v := range want.labels {
			if cm.Labels[k] != v {
				t.Errorf("%s: labels %v, want %s=%s", doc, cm.Labels, k, v)
			}
		}
		if cm.Labels["app.kubernetes.io/instance"] != releaseName || cm.Namespace != want.namespace || !maps.Equal(cm.Annotations, want.annotations) {
			t.Errorf("%s: metadata %+v", doc, cm.ObjectMeta)
		}
		got := cm.Data["auditpipe.json"]
		if got != strings.TrimRight(string(file), "\n") {
			t.Errorf("%s: auditpipe.json differs from %s", doc, dashboardFile)
		}
		if d := readDashboard(t, []byte(got)); d.UID != "auditpipe" {
			t.Errorf("%s: dashboard uid %q", doc, d.UID)
		}
	}
}

// TestHelmMonitoringSchema: values.schema.json accepts the monitoring values as documented
// and refuses the mistakes.
func TestHelmMonitoringSchema(t *testing.T) {
	c := loadChart(t)
	for _, doc := range []string{
		`prometheusRule: {enabled: true, labels: {release: prom}, namespace: monitoring, additionalRuleLabels: {team: security}, disabledAlerts: [AuditpipeDLQNotEmpty]}`,
		`grafanaDashboard: {enabled: true, labels: {grafana_dashboard: "1"}, annotations: {grafana_folder: auditpipe}, namespace: ""}`,
	} {
		if _, err := renderChartErr(c, values(t, doc)); err != nil {
			t.Errorf("%s: %v", doc, err)
		}
	}
	for name, doc := range map[string]string{
		"rule enabled not a bool":   `prometheusRule: {enabled: "yes"}`,
		"rule namespace invalid":    `prometheusRule: {namespace: Monitoring_NS}`,
		"rule label not a string":   `prometheusRule: {labels: {release: 1}}`,
		"alert label name invalid":  `prometheusRule: {additionalRuleLabels: {team-name: x}}`,
		"disabled alert not a name": `prometheusRule: {disabledAlerts: ["IngestLag"]}`,
		"disabled alert repeated":   `prometheusRule: {disabledAlerts: [AuditpipeDLQNotEmpty, AuditpipeDLQNotEmpty]}`,
		"unknown rule value":        `prometheusRule: {enable: true}`,
		"dashboard without labels":  `grafanaDashboard: {enabled: true, labels: {grafana_dashboard: null}}`,
		"dashboard namespace":       `grafanaDashboard: {namespace: "grafana dashboards"}`,
		"unknown dashboard value":   `grafanaDashboard: {folder: x}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := renderChartErr(c, values(t, doc)); err == nil || !strings.Contains(err.Error(), "schema") {
				t.Errorf("%s: err %v, want a schema error", doc, err)
			}
		})
	}
}
