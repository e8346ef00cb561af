{{/*
light-gateway.podTemplate: the gateway pod (metadata and spec), shared by every workload and by
the conformance suite's docker target. The MeshGatewayInstance podTemplate fields win over the
conventional keys (values.yaml says which).
*/}}
{{- define "light-gateway.podTemplate" -}}
{{- $s := include "light-gateway.settings" . | fromJson }}
{{- $labels := merge (deepCopy .Values.podTemplate.metadata.labels) .Values.podLabels }}
{{- $annotations := merge (deepCopy .Values.podTemplate.metadata.annotations) .Values.podAnnotations -}}
metadata:
  labels:
    {{- include "light-gateway.labels" . | nindent 4 }}
    app.kubernetes.io/component: gateway
    {{- with $labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
    checksum/secret: {{ include (print $.Template.BasePath "/secret.yaml") . | printf "%s%s" .Values.existingSecret | sha256sum }}
    {{- if and .Values.metrics.scrapeAnnotations $s.metricsPort }}
    prometheus.io/scrape: "true"
    prometheus.io/port: {{ $s.metricsPort | quote }}
    prometheus.io/path: {{ $s.metricsPath | quote }}
    {{- end }}
    {{- with $annotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "light-gateway.serviceAccountName" . }}
  automountServiceAccountToken: {{ .Values.serviceAccount.automountServiceAccountToken }}
  {{- with include "light-gateway.imagePullSecrets" . }}
  imagePullSecrets:
    {{- . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- with .Values.runtimeClassName }}
  runtimeClassName: {{ . }}
  {{- end }}
  {{- with .Values.dnsPolicy }}
  dnsPolicy: {{ . }}
  {{- end }}
  {{- with .Values.dnsConfig }}
  dnsConfig:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.hostAliases }}
  hostAliases:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.initContainers }}
  initContainers:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  terminationGracePeriodSeconds: {{ $s.grace }}
  securityContext:
    {{- include "light-gateway.podSecurityContext" . | nindent 4 }}
  containers:
    - name: light-gateway
      image: {{ include "light-gateway.image" . }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      securityContext:
        {{- include "light-gateway.containerSecurityContext" . | nindent 8 }}
      {{- if $s.preStop }}
      {{- /* Endpoints controllers and load balancers take a moment to stop sending new
      connections to a terminating pod; the pause comes before SIGTERM (and counts in
      terminationGracePeriodSeconds), so the drain starts once they have. */}}
      lifecycle:
        preStop:
          sleep:
            seconds: {{ $s.preStop }}
      {{- end }}
      env:
        - name: LIGHT_PORTAL_AUTHORIZATION
          valueFrom:
            secretKeyRef:
              name: {{ include "light-gateway.secretName" . }}
              key: LIGHT_PORTAL_AUTHORIZATION
        - name: light_4j_config_password
          valueFrom:
            secretKeyRef:
              name: {{ include "light-gateway.secretName" . }}
              key: light_4j_config_password
              optional: true
        - name: RUST_LOG
          value: {{ .Values.logLevel | quote }}
        {{- if eq .Values.logFormat "json" }}
        - name: LOG_FORMAT
          value: json
        {{- end }}
        {{- with .Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        {{- if $s.enableHttp }}
        - name: http
          containerPort: {{ $s.httpPort }}
          protocol: TCP
        {{- end }}
        {{- if $s.enableHttps }}
        - name: https
          containerPort: {{ $s.httpsPort }}
          protocol: TCP
        {{- end }}
        {{- if $s.metricsPort }}
        - name: metrics
          containerPort: {{ $s.metricsPort }}
          protocol: TCP
        {{- end }}
      startupProbe:
        {{- include "light-gateway.probe" (list . $s .Values.probes.startup) | trim | nindent 8 }}
      readinessProbe:
        {{- include "light-gateway.probe" (list . $s .Values.probes.readiness) | trim | nindent 8 }}
      livenessProbe:
        {{- include "light-gateway.probe" (list . $s .Values.probes.liveness) | trim | nindent 8 }}
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      volumeMounts:
        - name: bootstrap-config
          mountPath: /config
          readOnly: true
        - name: config-cache
          mountPath: /app/config-cache
        - name: tmp
          mountPath: /tmp
        {{- if .Values.tls.existingSecret }}
        - name: tls
          mountPath: /app/tls
          readOnly: true
        {{- end }}
        {{- with .Values.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    {{- with .Values.extraContainers }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  volumes:
    - name: bootstrap-config
      configMap:
        name: {{ include "light-gateway.configMapName" . }}
    - name: config-cache
      {{- if eq .Values.cache.type "pvc" }}
      persistentVolumeClaim:
        claimName: {{ include "light-gateway.cacheClaimName" . }}
      {{- else if .Values.cache.sizeLimit }}
      emptyDir:
        sizeLimit: {{ .Values.cache.sizeLimit }}
      {{- else }}
      {{- /* An empty sizeLimit must still render a volume source, not `emptyDir: null`. */}}
      emptyDir: {}
      {{- end }}
    - name: tmp
      {{- if .Values.tmpSizeLimit }}
      emptyDir:
        sizeLimit: {{ .Values.tmpSizeLimit }}
      {{- else }}
      emptyDir: {}
      {{- end }}
    {{- if .Values.tls.existingSecret }}
    - name: tls
      secret:
        secretName: {{ .Values.tls.existingSecret }}
    {{- end }}
    {{- with .Values.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- $pods := ternary (int .Values.autoscaling.maxReplicas) (int .Values.replicas) (and .Values.autoscaling.enabled true) }}
  {{- if and (not .Values.topologySpreadConstraints) .Values.defaultTopologySpread (gt $pods 1) }}
  {{- /* HA by default: spread the replicas over nodes and zones where the cluster can, and
  still schedule where it cannot (ScheduleAnyway), so a single-node cluster works too. */}}
  topologySpreadConstraints:
    {{- range $key := list "kubernetes.io/hostname" "topology.kubernetes.io/zone" }}
    - maxSkew: 1
      topologyKey: {{ $key }}
      whenUnsatisfiable: ScheduleAnyway
      labelSelector:
        matchLabels:
          {{- include "light-gateway.selectorLabels" $ | nindent 10 }}
    {{- end }}
  {{- end }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- range . }}
    {{- /* Only an entry without a labelSelector gets the pods' labels: merging them into a
    selector of the user's (matchExpressions, say) would change what it counts. */}}
    {{- if hasKey . "labelSelector" }}
    - {{- toYaml . | nindent 6 }}
    {{- else }}
    - {{- toYaml (merge (deepCopy .) (dict "labelSelector" (dict "matchLabels" (include "light-gateway.selectorLabels" $ | fromYaml)))) | nindent 6 }}
    {{- end }}
    {{- end }}
  {{- end }}
{{- end }}

{{/*
light-gateway.podSecurityContext: podSecurityContext with the MeshGatewayInstance fsGroup on top.
*/}}
{{- define "light-gateway.podSecurityContext" -}}
{{- $ctx := deepCopy .Values.podSecurityContext }}
{{- $fsGroup := .Values.podTemplate.spec.securityContext.fsGroup }}
{{- if not (kindIs "invalid" $fsGroup) }}
{{- $_ := set $ctx "fsGroup" $fsGroup }}
{{- end }}
{{- if not $ctx.supplementalGroups }}
{{- $_ := unset $ctx "supplementalGroups" }}
{{- end }}
{{- toYaml $ctx }}
{{- end }}

{{/*
light-gateway.containerSecurityContext: securityContext with the MeshGatewayInstance
readOnlyRootFilesystem on top.
*/}}
{{- define "light-gateway.containerSecurityContext" -}}
{{- $ctx := deepCopy .Values.securityContext }}
{{- $ro := .Values.podTemplate.spec.container.securityContext.readOnlyRootFilesystem }}
{{- if not (kindIs "invalid" $ro) }}
{{- $_ := set $ctx "readOnlyRootFilesystem" $ro }}
{{- end }}
{{- if not $ctx.capabilities.add }}
{{- $_ := unset $ctx.capabilities "add" }}
{{- end }}
{{- toYaml $ctx }}
{{- end }}

{{/*
light-gateway.probe: one probe on /health. Call with (list $ $settings $timing): HTTP GET on the
http port, HTTPS GET on the https port, or a TCP check of the first enabled listener.
*/}}
{{- define "light-gateway.probe" -}}
{{- $s := index . 1 }}
{{- $timing := index . 2 }}
{{- if eq $s.probe "tcp" }}
tcpSocket:
  port: {{ ternary "http" "https" $s.enableHttp }}
{{- else }}
httpGet:
  path: /health
  port: {{ $s.probe }}
  scheme: {{ upper $s.probe }}
{{- end }}
{{- toYaml $timing | nindent 0 }}
{{- end }}
