{{/* Chart name, cut to a valid label value. */}}
{{- define "mono-operator.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's objects. */}}
{{- define "mono-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "mono-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "mono-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels selecting the operator pods. */}}
{{- define "mono-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mono-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Name of the operator's ServiceAccount. */}}
{{- define "mono-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "mono-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* instance.digests as VERSION=DIGEST pairs, comma-separated, for MONO_OPERATOR_INSTANCE_DIGESTS. */}}
{{- define "mono-operator.digests" -}}
{{- $pairs := list }}
{{- range $version, $digest := . }}
{{- $pairs = append $pairs (printf "%s=%s" $version $digest) }}
{{- end }}
{{- join "," $pairs }}
{{- end }}
