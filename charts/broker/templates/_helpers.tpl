{{/*
The chart name, or nameOverride.
*/}}
{{- define "broker.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of every resource: fullnameOverride, else the release name with the chart name appended unless the
release name already contains it. Kubernetes names are at most 63 characters (DNS labels).
*/}}
{{- define "broker.fullname" -}}
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
chart-version, as the helm.sh/chart label wants it.
*/}}
{{- define "broker.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The labels that select the broker's pods. They never change across upgrades (a Deployment's selector is immutable);
the component keeps the helm test pod out of the Service, the PodDisruptionBudget and the NetworkPolicy.
*/}}
{{- define "broker.selectorLabels" -}}
app.kubernetes.io/name: {{ include "broker.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: broker
{{- end }}

{{/*
The labels every resource of the release carries, whatever its component.
*/}}
{{- define "broker.commonLabels" -}}
helm.sh/chart: {{ include "broker.chart" . }}
app.kubernetes.io/name: {{ include "broker.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
The labels of the broker's resources.
*/}}
{{- define "broker.labels" -}}
{{ include "broker.commonLabels" . }}
app.kubernetes.io/component: broker
{{- end }}

{{/*
The ServiceAccount the pods run as.
*/}}
{{- define "broker.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "broker.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The broker image: by digest when one is given, else by tag (default: the chart's appVersion).
*/}}
{{- define "broker.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
http or https: what the broker's port speaks.
*/}}
{{- define "broker.scheme" -}}
{{- if eq .Values.tls.mode "none" }}http{{ else }}https{{ end }}
{{- end }}

{{/*
The Service's port: service.port, or the scheme's usual port.
*/}}
{{- define "broker.servicePort" -}}
{{- if .Values.service.port }}{{ .Values.service.port }}{{ else if eq .Values.tls.mode "none" }}80{{ else }}443{{ end }}
{{- end }}

{{/*
The label a client pod carries to be let in when networkPolicy.allowExternal is false.
*/}}
{{- define "broker.clientLabel" -}}
{{ include "broker.fullname" . }}-client
{{- end }}

{{/*
The ConfigMap holding the policy files.
*/}}
{{- define "broker.policyConfigMap" -}}
{{- default (printf "%s-policy" (include "broker.fullname" .)) .Values.policy.existingConfigMap }}
{{- end }}

{{/*
Where the broker reads its policy directory. With git-sync, the directory holds only git-sync's `current` link,
which git-sync replaces atomically (rename of a new link over it) on every new commit: the broker's watcher on
this directory sees the rename, whereas a watch through the link would stay on the old, deleted worktree. The
repository itself (GITSYNC_ROOT) lies outside the watched directory.
*/}}
{{- define "broker.policyPath" -}}
{{- if eq .Values.policy.source "gitSync" }}/git/link{{ else }}/etc/broker/policy{{ end }}
{{- end }}

{{/*
Refuses values that would deploy a broker that cannot work or is not safe, with a message that says what to set.
Types and shapes are checked by values.schema.json; this checks what depends on several values.
*/}}
{{- define "broker.validate" -}}
{{- $_ := required "broker.issuer is required: the https URL clients reach the broker at (the iss of every token)" .Values.broker.issuer }}
{{- if eq .Values.keys.store "Redis" }}
{{- $_ := required "keys.encryption.existingSecret is required with keys.store=Redis: a Secret holding the RSA key-encryption certificate (PKCS#12) the ring's private keys are encrypted to" .Values.keys.encryption.existingSecret }}
{{- $_ := required "redis.existingSecret is required with keys.store=Redis: the key ring lives in Redis" .Values.redis.existingSecret }}
{{- else }}
{{- $_ := required "keys.existingSecret is required: a Secret holding the EC P-256 signing key(s) as PEM (see the chart's README)" .Values.keys.existingSecret }}
{{- end }}
{{- if and (not .Values.redis.existingSecret) (or .Values.autoscaling.enabled (gt (int .Values.replicaCount) 1)) }}
{{- fail "redis.existingSecret is required with more than one replica or with autoscaling: without Redis each replica keeps its own grants in memory, and a revocation on one would not reach the others" }}
{{- end }}
{{- if eq .Values.policy.source "configMap" }}
{{- if and (not .Values.policy.existingConfigMap) (not .Values.policy.files) }}
{{- fail "policy.files or policy.existingConfigMap is required with policy.source=configMap: the broker does not start without a policy" }}
{{- end }}
{{- else }}
{{- $_ := required "policy.gitSync.repo is required with policy.source=gitSync" .Values.policy.gitSync.repo }}
{{- end }}
{{- if and (eq .Values.tls.mode "secret") (not .Values.tls.existingSecret) }}
{{- fail "tls.existingSecret is required with tls.mode=secret: a kubernetes.io/tls Secret (tls.crt, tls.key)" }}
{{- end }}
{{- if and (eq .Values.tls.mode "spiffe") (not .Values.spiffe.csi.enabled) }}
{{- fail "tls.mode=spiffe needs spiffe.csi.enabled=true: the broker's X509-SVID comes from the SPIFFE Workload API" }}
{{- end }}
{{- if and .Values.spiffe.requestClientCertificates (eq .Values.tls.mode "none") }}
{{- fail "spiffe.requestClientCertificates needs TLS in the pod (tls.mode=secret or spiffe): with tls.mode=none no client certificate can reach the broker" }}
{{- end }}
{{- end }}

{{/*
The security context of every container the chart runs: the restricted Pod Security Standard.
*/}}
{{- define "broker.containerSecurityContext" -}}
{{ toYaml .Values.containerSecurityContext }}
{{- end }}

{{/*
The environment of the git-sync containers (init: one sync, then exit; sidecar: keep syncing).
*/}}
{{- define "broker.gitSyncEnv" -}}
- name: GITSYNC_REPO
  value: {{ .Values.policy.gitSync.repo | quote }}
- name: GITSYNC_REF
  value: {{ .Values.policy.gitSync.ref | quote }}
- name: GITSYNC_ROOT
  value: /git/repo
- name: GITSYNC_LINK
  value: /git/link/current
- name: GITSYNC_DEPTH
  value: "1"
{{- if .Values.policy.gitSync.credentialsSecret }}
- name: GITSYNC_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ .Values.policy.gitSync.credentialsSecret }}
      key: username
- name: GITSYNC_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.policy.gitSync.credentialsSecret }}
      key: password
{{- end }}
{{- end }}
