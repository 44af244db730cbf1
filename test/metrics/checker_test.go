package metrics

import (
	"slices"
	"strings"
	"testing"
)

// TestChecker: the checker finds a metric that is not exported, a label a metric does not
// have, and grouping, matching and joining on labels the series lack.
func TestChecker(t *testing.T) {
	c := newChecker(map[string]family{
		"a_total":   {name: "a_total", typ: "counter", labels: []string{"sink", "type"}},
		"b":         {name: "b", typ: "gauge", labels: []string{"sink"}},
		"h_seconds": {name: "h_seconds", typ: "histogram", labels: []string{"sink"}},
	})
	for _, tt := range []struct {
		given      string
		wantLabels []string // nil: not checked
		wantErr    string
	}{
		{given: `sum by (sink) (rate(a_total{type="x"}[5m]))`, wantLabels: []string{"sink"}},
		{given: `max by (namespace, job, sink) (b) == 1`, wantLabels: []string{"job", "namespace", "sink"}},
		{given: `histogram_quantile(0.9, sum by (sink, le) (rate(h_seconds_bucket[5m])))`, wantLabels: []string{"sink"}},
		{given: `sum(rate(h_seconds_sum[5m])) / sum(rate(h_seconds_count[5m]))`, wantLabels: []string{}},
		{given: `sum by (sink, type) (a_total) / ignoring (type) group_left sum by (sink) (a_total)`, wantLabels: []string{"sink", "type"}},
		{given: `b > 0 unless on (sink) sum by (sink) (a_total) > 0`},
		{given: `absent(b{sink="x"})`, wantLabels: []string{"sink"}},
		{given: `time() - b`},
		{given: `nope_total`, wantErr: "no exported metric nope_total"},
		{given: `h_seconds`, wantErr: "no exported metric h_seconds"},
		{given: `b{type="x"}`, wantErr: `b has no label "type"`},
		{given: `sum by (type) (b)`, wantErr: "sum by (type)"},
		{given: `b and on (type) a_total`, wantErr: "on (type)"},
		{given: `histogram_quantile(0.9, sum by (sink) (rate(h_seconds_bucket[5m])))`, wantErr: "without le"},
		{given: `a_total / on (sink) group_left (code) b`, wantErr: "no code"},
	} {
		got, errs := c.check(tt.given)
		err := strings.Join(errs, "; ")
		if tt.wantErr != "" {
			if !strings.Contains(err, tt.wantErr) {
				t.Errorf("%s: errors %q, want %q", tt.given, err, tt.wantErr)
			}
			continue
		}
		if err != "" {
			t.Errorf("%s: %s", tt.given, err)
		}
		if tt.wantLabels != nil {
			var own []string
			for _, l := range got.sorted() {
				if !slices.Contains(targetLabels, l) || slices.Contains(tt.wantLabels, l) {
					own = append(own, l)
				}
			}
			if own == nil {
				own = []string{}
			}
			if !slices.Equal(own, tt.wantLabels) {
				t.Errorf("%s: labels %v, want %v", tt.given, own, tt.wantLabels)
			}
		}
	}
}

// TestParseDesc reads names and labels out of client_golang's descriptor strings.
func TestParseDesc(t *testing.T) {
	for given, want := range map[string][]string{
		`Desc{fqName: "a_total", help: "x, y: {z}", constLabels: {}, variableLabels: {sink,type}}`: {"a_total", "sink", "type"},
		`Desc{fqName: "b", help: "", constLabels: {k="v"}, variableLabels: {c(sink)}}`:             {"b", "k", "sink"},
		`Desc{fqName: "c", help: "h", constLabels: {}, variableLabels: {}}`:                        {"c"},
	} {
		name, labels, err := parseDesc(given)
		if err != nil || !slices.Equal(append([]string{name}, labels...), want) {
			t.Errorf("parseDesc(%s) = %s %v %v, want %v", given, name, labels, err, want)
		}
	}
	if _, _, err := parseDesc("Desc{name: x}"); err == nil {
		t.Error("an unknown format parsed")
	}
}
