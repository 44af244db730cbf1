package metrics

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"go.yaml.in/yaml/v3"
)

// The files this package keeps true, from test/metrics.
var (
	metricsDoc    = filepath.Join("..", "..", "docs", "metrics.md")
	monitoringDir = filepath.Join("..", "..", "deploy", "helm", "auditpipe", "monitoring")
	alertsFile    = filepath.Join(monitoringDir, "auditpipe-alerts.yaml")
	dashboardFile = filepath.Join(monitoringDir, "auditpipe-dashboard.json")
	// Documents that name metrics: each name they mention must be exported.
	mentioningDocs = []string{
		metricsDoc,
		filepath.Join("..", "..", "docs", "operations.md"),
		filepath.Join("..", "..", "docs", "locks.md"),
		filepath.Join("..", "..", "deploy", "helm", "auditpipe", "README.md"),
		filepath.Join("..", "..", "deploy", "compose", "README.md"),
	}
)

// TestMonitoring runs the services and checks, against what they export: the metrics
// reference both ways (a metric without documentation fails, and so does documentation of
// a metric that is gone), every metric and label the alerting rules and the dashboard use,
// and the labels the alerts' annotations and the dashboard's legends show.
func TestMonitoring(t *testing.T) {
	p := startPipeline(t)

	exported := map[string]map[string]family{} // service -> name -> family
	all := map[string]family{}
	for _, name := range services {
		s := p.svcs[name]
		scraped := s.scrape(t)
		fams := s.reg.families(t, scraped)
		exported[name] = fams
		checkScrape(t, name, scraped, fams)
		for n, f := range fams {
			if prev, ok := all[n]; ok && (prev.typ != f.typ || !slices.Equal(prev.labels, f.labels)) {
				t.Errorf("%s is %s %v in one service and %s %v in %s", n, prev.typ, prev.labels, f.typ, f.labels, name)
			}
			all[n] = f
			for _, l := range f.labels {
				if slices.Contains(targetLabels, l) {
					t.Errorf("%s (%s) has the label %q, which Prometheus's target labels replace (exported_%s)", n, name, l, l)
				}
			}
		}
	}

	t.Run("pipeline", func(t *testing.T) {
		// The values the alerts rely on arrive: deliveries, the register, the DLQ, the
		// Teleport certificate.
		for _, c := range []struct {
			svc, metric string
			labels      map[string]string
			min         float64
		}{
			{svcShipper, "auditpipe_shipper_delivered_total", map[string]string{"sink": "fluentd"}, 1},
			{svcShipper, "auditpipe_shipper_delivered_total", map[string]string{"sink": "datadog"}, 1},
			{svcShipper, "auditpipe_shipper_sink_blocked", map[string]string{"sink": "lock"}, 0},
			{svcIngest, "auditpipe_ingest_events_published_total", nil, 1},
			{svcIngest, "auditpipe_teleport_cert_expiry_timestamp_seconds", nil, 1},
			{svcShipper, "auditpipe_teleport_connected", nil, 1},
			{svcAdmin, "auditpipe_admin_replicas", map[string]string{"component": "ingest"}, 1},
			{svcAdmin, "auditpipe_admin_replicas", map[string]string{"component": "shipper"}, 1},
			{svcAdmin, "auditpipe_admin_dlq_messages", map[string]string{"sink": "fluentd"}, 0},
			{svcAdmin, "auditpipe_admin_http_requests_total", map[string]string{"route": "/v1/status", "code": "200"}, 1},
		} {
			v, ok := sum(p.svcs[c.svc].scrape(t)[c.metric], c.labels)
			if !ok || v < c.min {
				t.Errorf("%s: %s%v = %v (present %v), want at least %v", c.svc, c.metric, c.labels, v, ok, c.min)
			}
		}
	})

	t.Run("reference", func(t *testing.T) {
		documented := readReference(t)
		for _, svc := range services {
			docs := documented[svc]
			for name, f := range exported[svc] {
				d, ok := docs[name]
				switch {
				case !ok:
					t.Errorf("%s exports %s (%s, labels %v), which docs/metrics.md does not list under auditpipe-%s", svc, name, f.typ, f.labels, svc)
				case d.typ != f.typ:
					t.Errorf("docs/metrics.md:%d: %s is a %s, documented as %s", d.line, name, f.typ, d.typ)
				case !slices.Equal(d.labels, f.labels):
					t.Errorf("docs/metrics.md:%d: %s has labels %v, documented %v", d.line, name, f.labels, d.labels)
				}
			}
			for name, d := range docs {
				if _, ok := exported[svc][name]; !ok {
					t.Errorf("docs/metrics.md:%d: %s is listed under auditpipe-%s, which does not export it", d.line, name, svc)
				}
			}
		}
		// Every metric name a document mentions is exported (a wildcard like
		// auditpipe_teleport_* must match one).
		name := regexp.MustCompile(`auditpipe_[a-z0-9_]*[a-z0-9_]\*?`)
		notMetrics := []string{"auditpipe_default"} // compose's network
		for _, path := range mentioningDocs {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range slices.Compact(slices.Sorted(slices.Values(name.FindAllString(string(data), -1)))) {
				prefix, wildcard := strings.CutSuffix(m, "*")
				found := false
				for n := range all {
					if n == m || (wildcard && strings.HasPrefix(n, prefix)) || histogramSeries(all, m) {
						found = true
						break
					}
				}
				if !found && !strings.HasSuffix(m, "_") && !slices.Contains(notMetrics, m) {
					t.Errorf("%s mentions %s, which no service exports", path, m)
				}
			}
		}
	})

	c := newChecker(all)
	used := labelSet{}

	t.Run("alerts", func(t *testing.T) {
		data, err := os.ReadFile(alertsFile)
		if err != nil {
			t.Fatal(err)
		}
		var rules struct {
			Groups []struct {
				Name  string
				Rules []struct {
					Alert       string
					Expr        string
					Annotations map[string]string
				}
			}
		}
		if err := yaml.Unmarshal(data, &rules); err != nil {
			t.Fatal(err)
		}
		labelRef := regexp.MustCompile(`\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)`)
		n := 0
		for _, g := range rules.Groups {
			for _, r := range g.Rules {
				n++
				out, errs := c.check(r.Expr)
				for _, e := range errs {
					t.Errorf("%s: %s", r.Alert, e)
				}
				maps.Copy(used, c.used)
				for key, text := range r.Annotations {
					for _, m := range labelRef.FindAllStringSubmatch(text, -1) {
						if !out[m[1]] {
							t.Errorf("%s: annotation %s shows $labels.%s, which the alert's series do not have (%v)", r.Alert, key, m[1], out.sorted())
						}
					}
				}
			}
		}
		if n == 0 {
			t.Fatal("no rules")
		}
	})

	t.Run("dashboard", func(t *testing.T) {
		data, err := os.ReadFile(dashboardFile)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Panels     []dashboardPanel
			Templating struct {
				List []struct {
					Name  string
					Type  string
					Query json.RawMessage
				}
			}
		}
		if err := json.Unmarshal(data, &d); err != nil {
			t.Fatal(err)
		}
		grafanaVars := strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "6h")
		legendRef := regexp.MustCompile(`\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)
		var walk func(p dashboardPanel)
		walk = func(p dashboardPanel) {
			for _, child := range p.Panels {
				walk(child)
			}
			for _, tg := range p.Targets {
				out, errs := c.check(grafanaVars.Replace(tg.Expr))
				for _, e := range errs {
					t.Errorf("panel %q: %s", p.Title, e)
				}
				maps.Copy(used, c.used)
				for _, m := range legendRef.FindAllStringSubmatch(tg.LegendFormat, -1) {
					if !out[m[1]] {
						t.Errorf("panel %q: legend {{%s}}, which the series do not have (%v)", p.Title, m[1], out.sorted())
					}
				}
			}
		}
		for _, p := range d.Panels {
			walk(p)
		}
		// Query variables: label_values(<selector>, <label>).
		labelValues := regexp.MustCompile(`^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$`)
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			var q struct{ Query string }
			if err := json.Unmarshal(v.Query, &q); err != nil {
				t.Errorf("variable %s: query %s: %v", v.Name, v.Query, err)
				continue
			}
			m := labelValues.FindStringSubmatch(q.Query)
			if m == nil {
				t.Errorf("variable %s: query %q is not label_values(selector, label)", v.Name, q.Query)
				continue
			}
			out, errs := c.check(m[1])
			for _, e := range errs {
				t.Errorf("variable %s: %s", v.Name, e)
			}
			if !out[m[2]] {
				t.Errorf("variable %s: label_values of %s, which %s does not have", v.Name, m[2], m[1])
			}
		}
	})

	// What the monitoring covers, for the log: the metrics neither alerts nor panels use.
	var unused []string
	for n := range all {
		if !used[n] {
			unused = append(unused, n)
		}
	}
	slices.Sort(unused)
	t.Logf("%d metrics exported; on no alert or panel: %v", len(all), unused)
}

type dashboardPanel struct {
	Title   string
	Panels  []dashboardPanel
	Targets []struct {
		Expr         string
		LegendFormat string `json:"legendFormat"`
	}
}

// histogramSeries reports whether name is a _bucket, _sum or _count series of an exported
// histogram or summary.
func histogramSeries(all map[string]family, name string) bool {
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if f, ok := all[base]; ok && (f.typ == "histogram" || f.typ == "summary") {
				return true
			}
		}
	}
	return false
}

// checkScrape checks a service's /metrics against its registry: it serves the Go runtime
// and process metrics, and every auditpipe_* family it serves is one the registry
// describes, with the described labels on every sample.
func checkScrape(t *testing.T, svc string, scraped map[string]*dto.MetricFamily, fams map[string]family) {
	t.Helper()
	var goMetrics, processMetrics bool
	for name, mf := range scraped {
		goMetrics = goMetrics || strings.HasPrefix(name, "go_")
		processMetrics = processMetrics || strings.HasPrefix(name, "process_")
		if !strings.HasPrefix(name, "auditpipe_") {
			continue
		}
		f, ok := fams[name]
		if !ok {
			t.Errorf("%s serves %s, which no collector registered through its Registerer describes", svc, name)
			continue
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, lp := range m.GetLabel() {
				labels = append(labels, lp.GetName())
			}
			slices.Sort(labels)
			if !slices.Equal(labels, f.labels) {
				t.Errorf("%s serves %s with labels %v, described %v", svc, name, labels, f.labels)
			}
		}
	}
	if !goMetrics || !processMetrics {
		t.Errorf("%s: /metrics without go_* or process_* (service.NewRegistry)", svc)
	}
}

// sum adds the samples of mf whose labels include labels; ok is false when none matched.
func sum(mf *dto.MetricFamily, labels map[string]string) (float64, bool) {
	var total float64
	matched := false
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		ok := true
		for k, v := range labels {
			ok = ok && have[k] == v
		}
		if !ok {
			continue
		}
		matched = true
		switch {
		case m.Counter != nil:
			total += m.GetCounter().GetValue()
		case m.Gauge != nil:
			total += m.GetGauge().GetValue()
		case m.Untyped != nil:
			total += m.GetUntyped().GetValue()
		}
	}
	return total, matched
}

// docRow is one metric of docs/metrics.md.
type docRow struct {
	typ    string
	labels []string
	line   int
}

// readReference reads docs/metrics.md: under each "## " section whose heading names
// auditpipe-ingest, auditpipe-shipper or auditpipe-admin (one or several), the table rows
// | `metric` | type | `label`, … | meaning |, for the services the heading names. Labels
// are the backquoted words of the third column ("—": none).
func readReference(t *testing.T) map[string]map[string]docRow {
	t.Helper()
	data, err := os.ReadFile(metricsDoc)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]docRow{}
	for _, s := range services {
		out[s] = map[string]docRow{}
	}
	var current []string
	quoted := regexp.MustCompile("`([^`]+)`")
	for i, line := range strings.Split(string(data), "\n") {
		if heading, ok := strings.CutPrefix(line, "## "); ok {
			current = nil
			for _, s := range services {
				if strings.Contains(heading, "auditpipe-"+s) {
					current = append(current, s)
				}
			}
			continue
		}
		if !strings.HasPrefix(line, "| `auditpipe_") {
			continue
		}
		cols := strings.Split(strings.Trim(line, "|"), "|")
		if len(cols) != 4 {
			t.Errorf("docs/metrics.md:%d: %d columns, want metric | type | labels | meaning", i+1, len(cols))
			continue
		}
		name := strings.Trim(strings.TrimSpace(cols[0]), "`")
		row := docRow{typ: strings.TrimSpace(cols[1]), line: i + 1}
		for _, m := range quoted.FindAllStringSubmatch(cols[2], -1) {
			row.labels = append(row.labels, m[1])
		}
		slices.Sort(row.labels)
		if len(current) == 0 {
			t.Errorf("docs/metrics.md:%d: %s is under no auditpipe-<service> section", i+1, name)
		}
		for _, s := range current {
			if prev, ok := out[s][name]; ok {
				t.Errorf("docs/metrics.md:%d: %s listed again for auditpipe-%s (line %d)", i+1, name, s, prev.line)
			}
			out[s][name] = row
		}
	}
	return out
}
