// Package deploy holds the tests of auditpipe's deployment artefacts: deploy/compose (loaded
// with compose-go, the library docker compose is built on) and the Helm chart in
// deploy/helm/auditpipe (loaded, linted and rendered with Helm's own packages, the manifests
// decoded into Kubernetes' API types). Each checks that the auditpipe.toml it mounts passes
// pkg/config's validation for every service, with the files it names provided by a mount.
// The chart's monitoring files (monitoring/: the Prometheus alerting rules and the Grafana
// dashboard) are checked as Prometheus and Grafana read them, their PromQL parsed with
// github.com/VictoriaMetrics/metricsql (small, and moves no Kubernetes or Helm module; the
// Prometheus parser would); test/metrics checks them against the running services.
//
// The module is outside go.work on purpose: Helm pulls in Kubernetes, and the workspace's one
// build list must keep otelgrpc at v0.60 or older for Teleport's client. Run it with
// GOWORK=off (make test and make helm-lint do).
package deploy
