{{/* Names. */}}

{{- define "auditpipe.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "auditpipe.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* <fullname>-<component>; call with (list $ "ingest"). */}}
{{- define "auditpipe.componentName" -}}
{{- $root := index . 0 -}}
{{- printf "%s-%s" (include "auditpipe.fullname" $root | trunc 50 | trimSuffix "-") (index . 1) }}
{{- end }}

{{- define "auditpipe.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "auditpipe.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "auditpipe.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Labels; call with (list $ "ingest"). */}}
{{- define "auditpipe.labels" -}}
{{- $root := index . 0 -}}
helm.sh/chart: {{ include "auditpipe.chart" $root }}
{{ include "auditpipe.selectorLabels" . }}
app.kubernetes.io/version: {{ $root.Values.image.tag | default $root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
app.kubernetes.io/part-of: auditpipe
{{- end }}

{{- define "auditpipe.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "auditpipe.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/* The image of a component; call with (list $ "auditpipe-ingest"). */}}
{{- define "auditpipe.image" -}}
{{- $root := index . 0 -}}
{{- printf "%s/%s:%s" ($root.Values.image.repository | trimSuffix "/") (index . 1) ($root.Values.image.tag | default $root.Chart.AppVersion) }}
{{- end }}

{{/* Where the chart mounts what. */}}
{{- define "auditpipe.paths" -}}
config: /etc/auditpipe/auditpipe.toml
teleport: /var/lib/auditpipe/teleport
fluentd: /etc/auditpipe/fluentd
datadog: /etc/auditpipe/datadog
admin: /etc/auditpipe/admin
redis: /etc/auditpipe/redis
nats: /etc/auditpipe/nats
{{- end }}

{{/* Whether the shipper runs a sink; call with (list $ "lock"). "true" or "". The lock sink
     also runs with config.lock-enabled, as pkg/config does. */}}
{{- define "auditpipe.hasSink" -}}
{{- $root := index . 0 -}}
{{- $sink := index . 1 -}}
{{- if has $sink $root.Values.shipper.sinks }}true
{{- else if and (eq $sink "lock") (index ($root.Values.config | default dict) "lock-enabled") }}true
{{- end }}
{{- end }}

{{/*
auditpipe.toml: .Values.config with the keys the chart manages set over it. Numbers are
written as integers when they are whole (values files give every number as a float, and
auditpipe's integer keys refuse 500.0), strings as JSON strings, which TOML reads the same.
*/}}
{{- define "auditpipe.configToml" -}}
{{- $paths := include "auditpipe.paths" . | fromYaml -}}
{{- $s := .Values.secrets -}}
{{- $managed := dict -}}
{{- $teleport := dict "addr" .Values.teleport.addr "refresh" (dict "enabled" .Values.teleport.refresh) -}}
{{- $_ := set $teleport "identity" (printf "%s/%s" $paths.teleport $s.teleportIdentity.key) -}}
{{- $_ := set $managed "teleport" $teleport -}}
{{- $redis := dict -}}
{{- if .Values.redis.url }}
{{- $_ := set $redis "url" .Values.redis.url -}}
{{- else if .Values.redis.addrs }}
{{- $_ := set $redis "addrs" .Values.redis.addrs -}}
{{- if .Values.redis.masterName }}
{{- $_ := set $redis "master-name" .Values.redis.masterName -}}
{{- end }}
{{- if .Values.redis.cluster }}
{{- $_ := set $redis "cluster" true -}}
{{- end }}
{{- else }}
{{- $_ := set $redis "addr" .Values.redis.addr -}}
{{- end }}
{{- if $s.redisPassword.name }}
{{- $_ := set $redis "password-file" (printf "%s/%s" $paths.redis $s.redisPassword.key) -}}
{{- end }}
{{- $_ := set $managed "redis" $redis -}}
{{- $nats := dict "url" .Values.nats.url -}}
{{- if $s.natsCreds.name }}
{{- $_ := set $nats "creds" (printf "%s/%s" $paths.nats $s.natsCreds.key) -}}
{{- end }}
{{- $_ := set $managed "nats" $nats -}}
{{- $forward := dict -}}
{{- if include "auditpipe.hasSink" (list . "fluentd") }}
{{- $fluentd := dict "url" .Values.fluentd.url "session-url" .Values.fluentd.sessionURL -}}
{{- if $s.fluentdClient.name }}
{{- $_ := set $fluentd "ca" (printf "%s/ca.crt" $paths.fluentd) -}}
{{- $_ := set $fluentd "cert" (printf "%s/client.crt" $paths.fluentd) -}}
{{- $_ := set $fluentd "key" (printf "%s/client.key" $paths.fluentd) -}}
{{- end }}
{{- $_ := set $forward "fluentd" $fluentd -}}
{{- end }}
{{- if include "auditpipe.hasSink" (list . "datadog") }}
{{- $datadog := dict "site" .Values.datadog.site -}}
{{- if .Values.datadog.url }}
{{- $_ := set $datadog "url" .Values.datadog.url -}}
{{- end }}
{{- $name := required "secrets.datadogAPIKey.name is required with the datadog sink" $s.datadogAPIKey.name -}}
{{- $_ := set $datadog "api-key-file" (printf "%s/api-key" $paths.datadog) -}}
{{- $_ := set $forward "datadog" $datadog -}}
{{- end }}
{{- if $forward }}
{{- $_ := set $managed "forward" $forward -}}
{{- end }}
{{- $_ := set $managed "shipper" (dict "sinks" .Values.shipper.sinks) -}}
{{- $admin := dict "listen" (printf "0.0.0.0:%v" .Values.admin.port) -}}
{{- if .Values.admin.enabled }}
{{- $name := required "secrets.adminTokens.name is required with admin.enabled" $s.adminTokens.name -}}
{{- $_ := set $admin "tokens-file" (printf "%s/tokens" $paths.admin) -}}
{{- end }}
{{- $_ := set $managed "admin" $admin -}}
{{- $_ := set $managed "metrics" (dict "listen" (printf ":%v" .Values.metrics.port)) -}}
{{- $config := mergeOverwrite (deepCopy (.Values.config | default dict)) $managed -}}
{{- printf "# auditpipe.toml, written by the %s chart for release %s: keys in docs/config.md." .Chart.Name .Release.Name }}
{{- include "auditpipe.toml.table" (list "" $config) }}
{{- end }}

{{/* One TOML table: its header (when it has plain keys) and plain keys, then its sub-tables.
     Call with (list "dotted.name" $map); "" is the root. */}}
{{- define "auditpipe.toml.table" -}}
{{- $prefix := index . 0 -}}
{{- $table := index . 1 -}}
{{- $plain := list -}}
{{- range $key := keys $table | sortAlpha -}}
{{- $value := index $table $key -}}
{{- if not (or (kindIs "map" $value) (kindIs "invalid" $value)) -}}
{{- $plain = append $plain $key -}}
{{- end -}}
{{- end -}}
{{- if and $prefix $plain }}
{{ printf "\n[%s]" $prefix }}
{{- end }}
{{- range $key := $plain }}
{{ $key }} = {{ include "auditpipe.toml.value" (index $table $key) }}
{{- end }}
{{- range $key := keys $table | sortAlpha -}}
{{- $value := index $table $key -}}
{{- if kindIs "map" $value -}}
{{- include "auditpipe.toml.table" (list (ternary $key (printf "%s.%s" $prefix $key) (eq $prefix "")) $value) -}}
{{- end -}}
{{- end -}}
{{- end }}

{{- define "auditpipe.toml.value" -}}
{{- if kindIs "string" . }}{{ toJson . }}
{{- else if kindIs "bool" . }}{{ . }}
{{- else if or (kindIs "float64" .) (kindIs "float32" .) }}
{{- if eq (float64 (int64 .)) (float64 .) }}{{ int64 . }}{{ else }}{{ . }}{{ end }}
{{- else if or (kindIs "int" .) (kindIs "int64" .) (kindIs "int32" .) (kindIs "uint64" .) }}{{ . }}
{{- else if kindIs "slice" . }}[{{ range $i, $e := . }}{{ if $i }}, {{ end }}{{ include "auditpipe.toml.value" $e }}{{ end }}]
{{- else }}{{ fail (printf "config: cannot write %v (%s) in TOML" . (kindOf .)) }}
{{- end }}
{{- end }}

{{/* The pod spec parts every component shares; call with (list $ "ingest" .Values.ingest). */}}
{{- define "auditpipe.podCommon" -}}
{{- $root := index . 0 -}}
{{- $values := index . 2 -}}
serviceAccountName: {{ include "auditpipe.serviceAccountName" $root }}
automountServiceAccountToken: false
terminationGracePeriodSeconds: {{ $root.Values.terminationGracePeriodSeconds }}
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml $root.Values.podSecurityContext | nindent 2 }}
{{- with $values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The pod template's annotations: the config checksum rolls every pod when auditpipe.toml changes. */}}
{{- define "auditpipe.podAnnotations" -}}
{{- $root := index . 0 -}}
checksum/config: {{ include "auditpipe.configToml" $root | sha256sum }}
{{- with index . 1 }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The container parts every component shares; call with (list $ .Values.ingest "ingest"). */}}
{{- define "auditpipe.containerCommon" -}}
{{- $root := index . 0 -}}
{{- $values := index . 1 -}}
imagePullPolicy: {{ $root.Values.image.pullPolicy }}
securityContext:
  {{- toYaml $root.Values.securityContext | nindent 2 }}
ports:
  - name: metrics
    containerPort: {{ $root.Values.metrics.port }}
    protocol: TCP
{{- if eq (index . 2) "admin" }}
  - name: http
    containerPort: {{ $root.Values.admin.port }}
    protocol: TCP
{{- end }}
# /healthz answers while the process runs. /readyz fails while a replica starts or drains, or
# a dependency (Redis, NATS, Teleport, a blocked sink) is down: it takes the pod out of its
# Service and shows in `kubectl get pods`, and restarting would not fix it, so it is no
# liveness probe.
livenessProbe:
  httpGet:
    path: /healthz
    port: metrics
  initialDelaySeconds: 5
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: /readyz
    port: metrics
  periodSeconds: 5
  timeoutSeconds: 3
  failureThreshold: 2
resources:
  {{- toYaml $values.resources | nindent 2 }}
{{- end }}

{{/* A secret volume; call with (dict "name" "teleport" "secret" "x" "items" (list (dict "key" "a" "path" "b"))). */}}
{{- define "auditpipe.secretVolume" -}}
- name: {{ .name }}
  secret:
    secretName: {{ .secret }}
    # 0440: readable by podSecurityContext.fsGroup.
    defaultMode: 288
    items:
      {{- toYaml .items | nindent 6 }}
{{- end }}

{{/* What a component reads, for its volumes and mounts: a list of
     {name, secret, mountPath, items}; call with (list $ "ingest"). */}}
{{- define "auditpipe.secretMounts" -}}
{{- $root := index . 0 -}}
{{- $component := index . 1 -}}
{{- $paths := include "auditpipe.paths" $root | fromYaml -}}
{{- $s := $root.Values.secrets -}}
{{- $lock := include "auditpipe.hasSink" (list $root "lock") -}}
{{- $mounts := list -}}
{{- if or (eq $component "ingest") (and (eq $component "shipper") $lock) }}
{{- $name := required "secrets.teleportIdentity.name is required: ingest reads the Teleport audit log with it" $s.teleportIdentity.name -}}
{{- $mounts = append $mounts (dict "name" "teleport-identity" "secret" $name "mountPath" $paths.teleport "items" (list (dict "key" $s.teleportIdentity.key "path" $s.teleportIdentity.key))) -}}
{{- end }}
{{- if and (eq $component "shipper") (include "auditpipe.hasSink" (list $root "fluentd")) $s.fluentdClient.name }}
{{- $items := list (dict "key" $s.fluentdClient.caKey "path" "ca.crt") (dict "key" $s.fluentdClient.certKey "path" "client.crt") (dict "key" $s.fluentdClient.keyKey "path" "client.key") -}}
{{- $mounts = append $mounts (dict "name" "fluentd-client" "secret" $s.fluentdClient.name "mountPath" $paths.fluentd "items" $items) -}}
{{- end }}
{{- if and (eq $component "shipper") (include "auditpipe.hasSink" (list $root "datadog")) }}
{{- $mounts = append $mounts (dict "name" "datadog-api-key" "secret" $s.datadogAPIKey.name "mountPath" $paths.datadog "items" (list (dict "key" $s.datadogAPIKey.key "path" "api-key"))) -}}
{{- end }}
{{- if eq $component "admin" }}
{{- $mounts = append $mounts (dict "name" "admin-tokens" "secret" $s.adminTokens.name "mountPath" $paths.admin "items" (list (dict "key" $s.adminTokens.key "path" "tokens"))) -}}
{{- end }}
{{- if $s.redisPassword.name }}
{{- $mounts = append $mounts (dict "name" "redis-password" "secret" $s.redisPassword.name "mountPath" $paths.redis "items" (list (dict "key" $s.redisPassword.key "path" $s.redisPassword.key))) -}}
{{- end }}
{{- if $s.natsCreds.name }}
{{- $mounts = append $mounts (dict "name" "nats-creds" "secret" $s.natsCreds.name "mountPath" $paths.nats "items" (list (dict "key" $s.natsCreds.key "path" $s.natsCreds.key))) -}}
{{- end }}
{{- toYaml (dict "mounts" $mounts) }}
{{- end }}

{{/* volumes: and volumeMounts: of a component; call with (list $ "ingest"). */}}
{{- define "auditpipe.volumes" -}}
{{- $root := index . 0 -}}
{{- $mounts := (include "auditpipe.secretMounts" . | fromYaml).mounts -}}
- name: config
  configMap:
    name: {{ include "auditpipe.fullname" $root }}
{{- range $mounts }}
{{ include "auditpipe.secretVolume" . }}
{{- end }}
{{- end }}

{{- define "auditpipe.volumeMounts" -}}
{{- $root := index . 0 -}}
{{- $paths := include "auditpipe.paths" $root | fromYaml -}}
{{- $mounts := (include "auditpipe.secretMounts" . | fromYaml).mounts -}}
- name: config
  mountPath: {{ $paths.config }}
  subPath: auditpipe.toml
  readOnly: true
{{- range $mounts }}
# A directory mount, never subPath: a renewed secret reaches the pod only so.
- name: {{ .name }}
  mountPath: {{ .mountPath }}
  readOnly: true
{{- end }}
{{- end }}
