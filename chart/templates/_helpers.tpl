{{/*
light-gateway.name: the chart name, or nameOverride; 63 characters at most.
*/}}
{{- define "light-gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
light-gateway.fullname: the base name of every object: fullnameOverride, else the release
name (when it already contains the chart name), else "<release>-<chart name>".
*/}}
{{- define "light-gateway.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
light-gateway.chart: "<chart>-<version>" for the helm.sh/chart label.
*/}}
{{- define "light-gateway.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
light-gateway.selectorLabels: the labels that select the gateway pods. They are immutable in
a Deployment's selector: never add a value-dependent label here.
*/}}
{{- define "light-gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "light-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
light-gateway.namespace: where every namespaced object goes: namespaceOverride, else the
release's namespace. Written on each object, so a render applied with kubectl lands there too.
*/}}
{{- define "light-gateway.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{/*
light-gateway.testLabels: the helm test pod's labels. Its own app.kubernetes.io/name, so that
the gateway's Service, NetworkPolicy and PDB (which select the gateway's name and instance)
never select it: it would be a Service endpoint that serves nothing, and the gateway's
egress rules would keep it from reaching the gateway.
*/}}
{{- define "light-gateway.testLabels" -}}
helm.sh/chart: {{ include "light-gateway.chart" . }}
app.kubernetes.io/name: {{ include "light-gateway.name" . }}-test
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: light-gateway
app.kubernetes.io/component: helm-test
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
light-gateway.chartLabels: the labels the chart itself puts on every object.
*/}}
{{- define "light-gateway.chartLabels" -}}
helm.sh/chart: {{ include "light-gateway.chart" . }}
{{ include "light-gateway.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: light-gateway
{{- end }}

{{/*
light-gateway.labels: the labels of every object of the release: the chart's and commonLabels.
*/}}
{{- define "light-gateway.labels" -}}
{{ include "light-gateway.chartLabels" . }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
light-gateway.serviceAccountName: the ServiceAccount of the pods. podTemplate.spec.serviceAccountName
(MeshGatewayInstance) wins; then serviceAccount.name; then the full name when the chart creates
one, else "default".
*/}}
{{- define "light-gateway.serviceAccountName" -}}
{{- if .Values.podTemplate.spec.serviceAccountName }}
{{- .Values.podTemplate.spec.serviceAccountName }}
{{- else if .Values.serviceAccount.create }}
{{- default (include "light-gateway.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
light-gateway.createServiceAccount: "true" when the chart creates the ServiceAccount.
*/}}
{{- define "light-gateway.createServiceAccount" -}}
{{- if and .Values.serviceAccount.create (not .Values.podTemplate.spec.serviceAccountName) }}true{{ end }}
{{- end }}

{{/*
light-gateway.secretName: the Secret holding LIGHT_PORTAL_AUTHORIZATION: existingSecret, else
the chart's own.
*/}}
{{- define "light-gateway.secretName" -}}
{{- default (include "light-gateway.fullname" .) .Values.existingSecret }}
{{- end }}

{{/*
light-gateway.configMapName: the bootstrap ConfigMap mounted at /config.
*/}}
{{- define "light-gateway.configMapName" -}}
{{- printf "%s-bootstrap" (include "light-gateway.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
light-gateway.cacheClaimName: the PersistentVolumeClaim of the config cache.
*/}}
{{- define "light-gateway.cacheClaimName" -}}
{{- default (printf "%s-config-cache" (include "light-gateway.fullname" .)) .Values.cache.pvc.existingClaim }}
{{- end }}

{{/*
light-gateway.registry: a repository with global.imageRegistry (an umbrella chart's shared
registry) in front, when one is set. Call with (list $ "<repository>").
*/}}
{{- define "light-gateway.registry" -}}
{{- $root := index . 0 }}
{{- $repository := index . 1 }}
{{- with (($root.Values.global | default dict).imageRegistry) }}
{{- printf "%s/%s" (trimSuffix "/" .) $repository }}
{{- else }}
{{- $repository }}
{{- end }}
{{- end }}

{{/*
light-gateway.image: "<repository>@<digest>" when a digest is set, else "<repository>:<tag>"
with the tag defaulting to the chart's appVersion.
*/}}
{{- define "light-gateway.image" -}}
{{- $repository := include "light-gateway.registry" (list . .Values.image.repository) }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" $repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
light-gateway.imagePullSecrets: global.imagePullSecrets then imagePullSecrets, each name once.
*/}}
{{- define "light-gateway.imagePullSecrets" -}}
{{- $all := concat ((.Values.global | default dict).imagePullSecrets | default list) (.Values.imagePullSecrets | default list) }}
{{- $seen := list }}
{{- $out := list }}
{{- range $all }}
{{- if not (has .name $seen) }}
{{- $seen = append $seen .name }}
{{- $out = append $out (dict "name" .name) }}
{{- end }}
{{- end }}
{{- if $out }}
{{- toYaml $out }}
{{- end }}
{{- end }}

{{/*
light-gateway.copySetting: copies one key of bootstrap.values (or a default when it is unset)
into a dict. Call with (list $dict "name" $.Values.bootstrap.values "server.httpPort" 8080);
renders nothing.
*/}}
{{- define "light-gateway.copySetting" -}}
{{- $into := index . 0 }}
{{- $values := index . 2 }}
{{- $key := index . 3 }}
{{- $value := index . 4 }}
{{- if and (hasKey $values $key) (not (kindIs "invalid" (index $values $key))) }}
{{- $value = index $values $key }}
{{- end }}
{{- $_ := set $into (index . 1) $value }}
{{- end }}

{{/*
light-gateway.settings: JSON of what the templates need from the gateway config: listeners,
advertised address, graceful period, hostname verification, TLS source and probe scheme.
Read it with: $s := include "light-gateway.settings" . | fromJson
*/}}
{{- define "light-gateway.settings" -}}
{{- $v := .Values.bootstrap.values }}
{{- $s := dict }}
{{- include "light-gateway.copySetting" (list $s "enableHttp" $v "server.enableHttp" true) }}
{{- include "light-gateway.copySetting" (list $s "enableHttps" $v "server.enableHttps" false) }}
{{- include "light-gateway.copySetting" (list $s "httpPort" $v "server.httpPort" 8080) }}
{{- include "light-gateway.copySetting" (list $s "httpsPort" $v "server.httpsPort" 8443) }}
{{- include "light-gateway.copySetting" (list $s "shutdownMs" $v "server.shutdownGracefulPeriod" 2000) }}
{{- include "light-gateway.copySetting" (list $s "verifyHostname" $v "client.verifyHostname" true) }}
{{- include "light-gateway.copySetting" (list $s "metricsEnabled" $v "metrics.enabled" true) }}
{{- include "light-gateway.copySetting" (list $s "metricsPort" $v "metrics.prometheusPort" 0) }}
{{- include "light-gateway.copySetting" (list $s "metricsPath" $v "metrics.prometheusPath" "/metrics") }}
{{- /* The gateway opens no scrape listener when metrics are off: neither does the chart. */}}
{{- if not $s.metricsEnabled }}
{{- $_ := set $s "metricsPort" 0 }}
{{- end }}
{{- $service := printf "%s.%s" (include "light-gateway.fullname" .) (include "light-gateway.namespace" .) }}
{{- include "light-gateway.copySetting" (list $s "advertisedAddress" $v "server.advertisedAddress" $service) }}
{{- if not $s.advertisedAddress }}
{{- $_ := set $s "advertisedAddress" $service }}
{{- end }}
{{- $_ := set $s "certPaths" (and (not (empty (get $v "server.tlsCertPath"))) (not (empty (get $v "server.tlsKeyPath")))) }}
{{- $probe := .Values.probes.type }}
{{- if eq $probe "auto" }}
{{- $probe = ternary "http" "https" (get $s "enableHttp") }}
{{- end }}
{{- $_ := set $s "probe" $probe }}
{{- $_ := set $s "preStop" (int .Values.lifecycle.preStopSleepSeconds) }}
{{- $grace := .Values.terminationGracePeriodSeconds }}
{{- if kindIs "invalid" $grace }}
{{- $grace = add (div (add (get $s "shutdownMs") 999) 1000) 10 (get $s "preStop") }}
{{- end }}
{{- $_ := set $s "grace" ($grace | int) }}
{{- toJson $s }}
{{- end }}

{{/*
light-gateway.valuesYml: bootstrap.values plus what the chart derives: the advertised address
(<service>.<namespace>), the CA paths (config/ca.pem when bootstrap.caPem is set, else empty,
because the gateway refuses a CA path that does not exist) and the HTTPS certificate paths of
tls.existingSecret. Keys the user set are never replaced.
*/}}
{{- define "light-gateway.valuesYml" -}}
{{- $s := include "light-gateway.settings" . | fromJson }}
{{- $derived := dict "server.advertisedAddress" $s.advertisedAddress }}
{{- $ca := ternary "config/ca.pem" "" (ne .Values.bootstrap.caPem "") }}
{{- $_ := set $derived "startup.bootstrapCaCertPath" $ca }}
{{- $_ := set $derived "client.caCertPath" $ca }}
{{- if .Values.tls.existingSecret }}
{{- $_ := set $derived "server.tlsCertPath" "tls/tls.crt" }}
{{- $_ := set $derived "server.tlsKeyPath" "tls/tls.key" }}
{{- end }}
{{- $merged := merge (deepCopy .Values.bootstrap.values) $derived }}
{{- toYaml $merged }}
{{- end }}

{{/*
light-gateway.servicePort: the Service port name an Ingress or HTTPRoute targets: http when
the HTTP listener is on, else https.
*/}}
{{- define "light-gateway.servicePort" -}}
{{- $s := include "light-gateway.settings" . | fromJson }}
{{- ternary "http" "https" $s.enableHttp }}
{{- end }}
