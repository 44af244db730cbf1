package metrics

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/VictoriaMetrics/metricsql"
)

// targetLabels are the labels Prometheus adds to every series of a target: job and instance
// always, the rest from the chart's ServiceMonitor (namespace, pod, service, container,
// endpoint, and app.kubernetes.io/component through podTargetLabels). An expression may
// use them on any metric; a metric of auditpipe's own must never have one of these names
// (Prometheus would rename it exported_<name>).
var targetLabels = []string{"job", "instance", "namespace", "pod", "service", "container", "endpoint",
	"app_kubernetes_io_component"}

// labelSet is a set of label names.
type labelSet map[string]bool

func setOf(names ...string) labelSet {
	s := labelSet{}
	for _, n := range names {
		s[n] = true
	}
	return s
}

func (s labelSet) sorted() []string { return slices.Sorted(maps.Keys(s)) }

// checker checks PromQL against what the services export: every selector names an exported
// metric (histograms through _bucket, _sum and _count) and only labels it has, and every
// label an expression groups, matches or joins on is on the series it applies to.
type checker struct {
	families map[string]family // every service's, by name
	errs     []string
	used     labelSet // the metric families an expression selects
}

func newChecker(families map[string]family) *checker {
	return &checker{families: families}
}

// check parses expr and returns the labels of its result's series, and the errors.
func (c *checker) check(expr string) (labelSet, []string) {
	c.errs, c.used = nil, labelSet{}
	e, err := metricsql.Parse(expr)
	if err != nil {
		return nil, []string{err.Error()}
	}
	out, _ := c.labels(e)
	return out, c.errs
}

func (c *checker) fail(format string, args ...any) {
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

// labels returns the labels of the series e evaluates to, and whether e is a vector (false
// for numbers, strings and scalar functions).
func (c *checker) labels(e metricsql.Expr) (labelSet, bool) {
	switch e := e.(type) {
	case *metricsql.MetricExpr:
		return c.selector(e), true
	case *metricsql.RollupExpr:
		return c.labels(e.Expr)
	case *metricsql.FuncExpr:
		return c.function(e)
	case *metricsql.AggrFuncExpr:
		return c.aggregation(e), true
	case *metricsql.BinaryOpExpr:
		return c.binary(e)
	}
	return labelSet{}, false // numbers, strings, durations
}

// selector resolves a metric selector to an exported family and checks its matchers.
func (c *checker) selector(e *metricsql.MetricExpr) labelSet {
	if len(e.LabelFilterss) != 1 || len(e.LabelFilterss[0]) == 0 || e.LabelFilterss[0][0].Label != "__name__" {
		c.fail("selector %s: want one metric name", e.AppendString(nil))
		return labelSet{}
	}
	filters := e.LabelFilterss[0]
	name := filters[0].Value
	f, extra, ok := c.resolve(name)
	if !ok {
		c.fail("no exported metric %s", name)
		return labelSet{}
	}
	c.used[f.name] = true
	out := setOf(append(append(slices.Clone(f.labels), targetLabels...), extra...)...)
	for _, lf := range filters[1:] {
		if !out[lf.Label] {
			c.fail("%s has no label %q (labels %v)", name, lf.Label, f.labels)
		}
	}
	return out
}

// resolve finds the family of a series name: the family itself, or a histogram's or
// summary's _bucket (with le), _sum or _count series.
func (c *checker) resolve(name string) (family, []string, bool) {
	if f, ok := c.families[name]; ok && (f.typ == "counter" || f.typ == "gauge" || f.typ == "untyped") {
		return f, nil, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suffix)
		if !ok {
			continue
		}
		f, ok := c.families[base]
		switch {
		case ok && f.typ == "histogram" && suffix == "_bucket":
			return f, []string{"le"}, true
		case ok && (f.typ == "histogram" || f.typ == "summary") && suffix != "_bucket":
			return f, nil, true
		}
	}
	if f, ok := c.families[name]; ok && f.typ == "summary" {
		return f, []string{"quantile"}, true
	}
	return family{}, nil, false
}

// firstVector returns the labels of the first vector argument of a function.
func (c *checker) firstVector(args []metricsql.Expr) (labelSet, bool) {
	var found labelSet
	isVector := false
	for _, a := range args {
		l, v := c.labels(a)
		if v && !isVector {
			found, isVector = l, true
		}
	}
	return found, isVector
}

func (c *checker) function(e *metricsql.FuncExpr) (labelSet, bool) {
	switch e.Name {
	case "time":
		return labelSet{}, false
	case "scalar":
		c.labels(e.Args[0])
		return labelSet{}, false
	case "vector":
		c.labels(e.Args[0])
		return labelSet{}, true
	case "absent", "absent_over_time":
		// The result carries the equality matchers' labels.
		c.labels(e.Args[0])
		out := labelSet{}
		metricsql.VisitAll(e.Args[0], func(x metricsql.Expr) {
			if m, ok := x.(*metricsql.MetricExpr); ok && len(m.LabelFilterss) == 1 {
				for _, lf := range m.LabelFilterss[0][1:] {
					if !lf.IsRegexp && !lf.IsNegative {
						out[lf.Label] = true
					}
				}
			}
		})
		return out, true
	case "histogram_quantile":
		in, _ := c.firstVector(e.Args)
		if !in["le"] {
			c.fail("histogram_quantile over series without le (%v): aggregate by le, and select a histogram's _bucket", in.sorted())
		}
		out := maps.Clone(in)
		delete(out, "le")
		return out, true
	case "label_replace":
		in, _ := c.firstVector(e.Args[:1])
		out := maps.Clone(in)
		if dst, ok := e.Args[1].(*metricsql.StringExpr); ok {
			out[dst.S] = true
		}
		if src, ok := e.Args[3].(*metricsql.StringExpr); ok && src.S != "" && !in[src.S] {
			c.fail("label_replace from %q, which the series do not have", src.S)
		}
		return out, true
	}
	return c.firstVector(e.Args)
}

func (c *checker) aggregation(e *metricsql.AggrFuncExpr) labelSet {
	in, _ := c.firstVector(e.Args[len(e.Args)-1:])
	for _, a := range e.Args[:len(e.Args)-1] {
		c.labels(a) // topk's k, quantile's φ
	}
	if e.Name == "count_values" {
		if s, ok := e.Args[0].(*metricsql.StringExpr); ok {
			in = maps.Clone(in)
			in[s.S] = true
		}
	}
	switch e.Modifier.Op {
	case "by":
		for _, l := range e.Modifier.Args {
			if !in[l] {
				c.fail("%s by (%s): the series have no label %s (they have %v)", e.Name, strings.Join(e.Modifier.Args, ", "), l, in.sorted())
			}
		}
		if e.Name == "topk" || e.Name == "bottomk" {
			return in
		}
		return setOf(e.Modifier.Args...)
	case "without":
		out := maps.Clone(in)
		for _, l := range e.Modifier.Args {
			delete(out, l)
		}
		return out
	}
	if e.Name == "topk" || e.Name == "bottomk" {
		return in
	}
	return labelSet{}
}

func (c *checker) binary(e *metricsql.BinaryOpExpr) (labelSet, bool) {
	l, lv := c.labels(e.Left)
	r, rv := c.labels(e.Right)
	switch {
	case !lv && !rv:
		return labelSet{}, false
	case !rv:
		return l, true
	case !lv:
		return r, true
	}
	op := strings.ToLower(e.Op)
	group := e.GroupModifier
	switch strings.ToLower(group.Op) {
	case "on":
		for _, name := range group.Args {
			if !l[name] || !r[name] {
				c.fail("%s on (%s): %s is not on both sides (left %v, right %v)", op, strings.Join(group.Args, ", "), name, l.sorted(), r.sorted())
			}
		}
	case "ignoring":
		for _, name := range group.Args {
			if !l[name] && !r[name] {
				c.fail("%s ignoring (%s): no side has %s", op, strings.Join(group.Args, ", "), name)
			}
		}
	}
	join := e.JoinModifier
	for _, name := range join.Args {
		other := r
		if strings.ToLower(join.Op) == "group_right" {
			other = l
		}
		if !other[name] {
			c.fail("%s(%s): the other side has no %s", join.Op, strings.Join(join.Args, ", "), name)
		}
	}
	switch {
	case op == "and" || op == "unless":
		return l, true
	case op == "or":
		out := labelSet{}
		for name := range l {
			if r[name] {
				out[name] = true
			}
		}
		return out, true
	case metricsql.IsBinaryOpCmp(op) && !e.Bool:
		return l, true // a filter: the left series as they are
	case strings.ToLower(join.Op) == "group_left":
		return l, true
	case strings.ToLower(join.Op) == "group_right":
		return r, true
	case strings.ToLower(group.Op) == "on":
		return setOf(group.Args...), true
	case strings.ToLower(group.Op) == "ignoring":
		out := maps.Clone(l)
		for _, name := range group.Args {
			delete(out, name)
		}
		return out, true
	}
	return l, true
}
