{{/*
Chart name, truncated to 63 characters (DNS label).
*/}}
{{- define "revmentor.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Release-wide full name; the release name alone when it already contains the chart name.
*/}}
{{- define "revmentor.fullname" -}}
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
Chart label value: name-version.
*/}}
{{- define "revmentor.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels shared by every pod of the release (NetworkPolicy peers select on these).
*/}}
{{- define "revmentor.releaseSelectorLabels" -}}
app.kubernetes.io/name: {{ include "revmentor.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Standard labels for release-wide objects.
*/}}
{{- define "revmentor.labels" -}}
helm.sh/chart: {{ include "revmentor.chart" . }}
{{ include "revmentor.releaseSelectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: revmentor
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Selector labels of one service. Call with (dict "root" $ "name" "enrolment").
*/}}
{{- define "revmentor.selectorLabels" -}}
{{ include "revmentor.releaseSelectorLabels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{/*
Standard labels of one service's objects. Call with (dict "root" $ "name" "enrolment").
*/}}
{{- define "revmentor.serviceLabels" -}}
{{ include "revmentor.labels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{/*
Name of one service's objects: <fullname>-<service>. Call with (dict "root" $ "name" ...).
*/}}
{{- define "revmentor.componentName" -}}
{{- printf "%s-%s" (include "revmentor.fullname" .root) .name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
ServiceAccount used by every service.
*/}}
{{- define "revmentor.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "revmentor.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The image reference.
*/}}
{{- define "revmentor.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
Deep merge of two maps where the override wins key by key - unlike sprig's
merge/mergeOverwrite, an explicit false, 0 or "" in the override is kept.
Call with (dict "base" $defaults "over" $overrides); returns YAML (use fromYaml).
*/}}
{{- define "revmentor.deepMerge" -}}
{{- $out := deepCopy (.base | default dict) }}
{{- range $key, $value := (.over | default dict) }}
{{- $current := get $out $key }}
{{- if and (kindIs "map" $value) (kindIs "map" $current) }}
{{- $_ := set $out $key (include "revmentor.deepMerge" (dict "base" $current "over" $value) | fromYaml) }}
{{- else }}
{{- $_ := set $out $key $value }}
{{- end }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/*
One service's effective settings: serviceDefaults overlaid with services.<name>.
Call with (dict "root" $ "name" "enrolment"); returns YAML (use fromYaml).
*/}}
{{- define "revmentor.serviceConfig" -}}
{{- $over := get .root.Values.services .name | default dict }}
{{- include "revmentor.deepMerge" (dict "base" .root.Values.serviceDefaults "over" $over) }}
{{- end }}

{{/*
The enabled service names, sorted, as a YAML list (use fromYamlArray).
*/}}
{{- define "revmentor.enabledServices" -}}
{{- $names := list }}
{{- range $name, $cfg := .Values.services }}
{{- if and $cfg $cfg.enabled }}
{{- $names = append $names $name }}
{{- end }}
{{- end }}
{{- toYaml (sortAlpha $names) }}
{{- end }}
