{{- define "semantics.name" -}}
{{ .Release.Name }}-{{ .Chart.Name }}
{{- end }}

{{- define "semantics.labels" -}}
app: {{ include "semantics.name" . }}
chart: {{ .Chart.Name }}
{{- end }}
