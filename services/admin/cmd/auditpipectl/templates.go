package main

import (
	"bytes"
	"encoding/json"
	"text/template"
)

// configData is what the configuration templates fill in. Paths are absolute.
type configData struct {
	Version      string
	TeleportAddr string
	// User and Role are the Teleport user auditpipe signs in as, and its role.
	User, Role string
	// FluentdHost and FluentdPort are where shippers reach Fluentd's in_http source.
	FluentdHost string
	FluentdPort int
	// The files configure writes, and the identity file the user signs.
	CA, CAKey, ServerCert, ServerKey, ClientCert, ClientKey string
	Identity, AdminTokens                                   string
	// ImageTag is the auditpipe images' tag in the compose .env.
	ImageTag string
	// Secret names of the Helm chart.
	SecretIdentity, SecretFluentdClient, SecretAdminTokens string
}

// quote renders s as a double-quoted string that TOML, YAML and Fluentd's config all read
// back as s (JSON's escapes are a subset of each).
func quote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

var templates = template.Must(template.New("").Funcs(template.FuncMap{"q": quote}).Parse(`
{{define "teleport-role.yaml"}}# The Teleport role and user that auditpipe reads the audit log as, written by
# auditpipectl configure. Create both with:
#
#   tctl create -f teleport-role.yaml
#
# then sign the user's identity file (auditpipe.toml's teleport.identity):
#
#   tctl auth sign --user={{.User}} --out=identity
#
# or let Machine ID (tbot) write and renew it. auditpipe reloads it when it changes
# (teleport.refresh.enabled).
kind: role
version: v7
metadata:
  name: {{.Role}}
  description: "auditpipe: export the audit log and session recordings"
spec:
  allow:
    rules:
      # The audit log: auditpipe-ingest searches it (and uses the bulk export API where the
      # audit backend has one).
      - resources: [event]
        verbs: [list, read]
      # Session recordings, streamed after each session.upload event.
      - resources: [session]
        verbs: [list, read]
      # The lock sink (shipper.sinks with "lock", teleport-event-handler's lock-* options)
      # locks a user after repeated failed logins: it needs to create and update locks.
      # Without the lock sink, leave these lines commented out: the exporter then cannot
      # lock anyone.
      # - resources: [lock]
      #   verbs: [create, update]
---
kind: user
version: v2
metadata:
  name: {{.User}}
spec:
  roles: [{{.Role}}]
{{end}}

{{define "fluent.conf"}}# fluent.conf, written by auditpipectl configure: Fluentd receives auditpipe-shipper's batches
# on in_http over mutual TLS. Only clients with a certificate signed by ca.crt get in
# (auditpipe's client.crt). The shipper POSTs JSON arrays, one record per event, to
#   https://{{.FluentdHost}}:{{.FluentdPort}}/teleport.events.log         tag teleport.events.log
#   https://{{.FluentdHost}}:{{.FluentdPort}}/teleport.session.<sid>.log  tag teleport.session.<sid>.log
# (forward.fluentd.url and session-url in auditpipe.toml; the tag is the URL path). The paths
# below are where configure wrote the files: change them if Fluentd sees them elsewhere (in a
# container, say).
<source>
  @type http
  bind 0.0.0.0
  port {{.FluentdPort}}
  # in_http's default; the shipper splits a batch that is answered 413.
  body_size_limit 32m
  <transport tls>
    client_cert_auth true
    ca_path {{q .CA}}
    cert_path {{q .ServerCert}}
    private_key_path {{q .ServerKey}}
  </transport>
</source>

# Datadog through Fluentd: install fluent-plugin-datadog (fluent-gem install
# fluent-plugin-datadog), give Fluentd DD_API_KEY, and uncomment this <match>. (auditpipe can
# also send to Datadog itself: shipper.sinks = ["fluentd", "datadog"].)
#
# <match teleport.**>
#   @type datadog
#   api_key "#{ENV['DD_API_KEY']}"
#   # host http-intake.logs.datadoghq.eu   for the EU site
#   dd_source teleport
#   service teleport
#   dd_tags env:production
#   <buffer>
#     @type file
#     path /var/log/fluentd/buffer/datadog
#     flush_interval 5s
#     retry_forever true
#   </buffer>
# </match>

# Everything no <match> above took: printed on Fluentd's stdout.
<match **>
  @type stdout
</match>
{{end}}

{{define "auditpipe.toml"}}# auditpipe.toml, written by auditpipectl configure ({{.Version}}): one file for
# auditpipe-ingest, auditpipe-shipper and auditpipe-admin (--config auditpipe.toml). Every
# key is in docs/config.md; AUDITPIPE_* variables and --set override it key by key.
# Check it with: auditpipectl validate-config --config auditpipe.toml

# Export starts now. To backfill, set an RFC 3339 time; it applies on the first start only
# (later: auditpipectl reset-start-time).
# start-time = "2025-01-01T00:00:00Z"

[teleport]
# The Proxy (:443) or the Auth Service (:3025).
addr = {{q .TeleportAddr}}
# The {{.User}} user's identity file (teleport-role.yaml says how to sign it); it must exist
# before ingest starts.
identity = {{q .Identity}}
# With tbot renewing the identity, reload it as it changes:
# refresh.enabled = true

[forward.fluentd]
# fluent.conf's in_http source, over mutual TLS with the certificates configure wrote.
url = {{q (printf "https://%s:%d/teleport.events.log" .FluentdHost .FluentdPort)}}
session-url = {{q (printf "https://%s:%d/teleport.session" .FluentdHost .FluentdPort)}}
ca = {{q .CA}}
cert = {{q .ClientCert}}
key = {{q .ClientKey}}

# The datadog sink (add "datadog" to shipper.sinks) reads its key from DD_API_KEY or
# api-key-file, and its site from DD_SITE or site:
# [forward.datadog]
# api-key-file = "/etc/auditpipe/datadog-api-key"
# site = "datadoghq.eu"
# tags = ["env:production"]

[shipper]
# fluentd, datadog, lock (lock needs the lock rules of teleport-role.yaml).
sinks = ["fluentd"]

[redis]
# Windows, leases and cursors.
addr = "127.0.0.1:6379"

[nats]
# JetStream, with the TELEPORT_EVENTS stream.
url = "nats://127.0.0.1:4222"

[admin]
listen = "127.0.0.1:8080"
# Bearer tokens, one "<read|admin> <token>" per line; auditpipectl --token-file admin.token
# uses the admin token configure wrote.
tokens-file = {{q .AdminTokens}}

[metrics]
# /healthz, /readyz and /metrics. Services on one machine need one port each:
# --set metrics.listen=:9091 and so on.
listen = ":9090"
{{end}}

{{define ".env"}}# .env for deploy/compose (compose.yaml reads these variables), written by auditpipectl
# configure. Copy it to deploy/compose/.env and the certificates to deploy/compose/secrets/
# (configure printed how). It holds no secret until you set DD_API_KEY: keep it 0600.

# Images: ${AUDITPIPE_IMAGE_REGISTRY}/auditpipe-{ingest,shipper,admin}:${AUDITPIPE_IMAGE_TAG}.
AUDITPIPE_IMAGE_REGISTRY=auditpipe
AUDITPIPE_IMAGE_TAG={{.ImageTag}}
# uid:gid of the containers that read ./secrets; those files must be readable by it.
AUDITPIPE_USER=65532:65532

# Teleport: the Proxy (:443) or Auth Service (:3025), and the identity file as the containers
# see it (./secrets/teleport is mounted at /var/lib/auditpipe/teleport).
TELEPORT_ADDR={{.TeleportAddr}}
TELEPORT_IDENTITY=/var/lib/auditpipe/teleport/identity

# The sinks the shipper runs (fluentd, datadog, lock), and Datadog's key and site.
SHIPPER_SINKS=fluentd
DD_API_KEY=
DD_SITE=datadoghq.com

# Fluentd's server key is not encrypted.
FLUENTD_KEY_PASSPHRASE=

# The admin API's port on the host's 127.0.0.1.
ADMIN_PORT=8080
{{end}}

{{define "helm-values.yaml"}}# Values for the auditpipe Helm chart (deploy/helm/auditpipe), written by auditpipectl
# configure:
#
#   helm install auditpipe deploy/helm/auditpipe -f helm-values.yaml
#
# Create the secrets below first, from the files beside this one (configure printed the
# kubectl commands). Fluentd in the cluster must present server.crt, whose names are
# {{.FluentdHost}} and the --dns-names given to configure: change fluentd.url and sessionURL
# to where Fluentd's in_http source is, and re-run configure with --cn for that name.
teleport:
  addr: {{q .TeleportAddr}}
  # Reload the identity as it changes (tbot renewing the secret).
  refresh: true

redis:
  addr: redis-master:6379

nats:
  url: nats://nats:4222

fluentd:
  url: {{q (printf "https://%s:%d/teleport.events.log" .FluentdHost .FluentdPort)}}
  sessionURL: {{q (printf "https://%s:%d/teleport.session" .FluentdHost .FluentdPort)}}

secrets:
  teleportIdentity:
    name: {{.SecretIdentity}}
    key: identity
  fluentdClient:
    name: {{.SecretFluentdClient}}
    caKey: ca.crt
    certKey: tls.crt
    keyKey: tls.key
  adminTokens:
    name: {{.SecretAdminTokens}}
    key: tokens

ingest:
  # Replicas share the work through leases in Redis.
  replicas: 2

shipper:
  # Every replica reads each sink's durable consumer: more replicas, more throughput.
  replicas: 2
  sinks: [fluentd]

# More auditpipe.toml keys, as a tree (docs/config.md).
config:
  # Events per Teleport page; larger pages make a backfill faster.
  batch: 500
  # start-time: "2025-01-01T00:00:00Z"
{{end}}
`))

// render executes the template name with d.
func render(name string, d configData) ([]byte, error) {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, d); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
