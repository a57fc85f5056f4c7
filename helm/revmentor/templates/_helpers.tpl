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
The image reference: repository@digest when a digest is given, else repository:tag.
*/}}
{{- define "revmentor.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
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

{{/*
Labels of the bootstrap Job's pods and objects.
*/}}
{{- define "revmentor.bootstrapLabels" -}}
{{ include "revmentor.labels" . }}
app.kubernetes.io/component: bootstrap
{{- end }}

{{/*
SECRETS - one shape for every block that needs secret material: existingSecret (a
Secret you manage, only referenced) or stringData (evaluation: the chart renders
<fullname>-<purpose> from it, templates/secrets.yaml), never both, never neither.
Returns the name of the Secret to reference.
Call with (dict "root" $ "block" $block "path" "postgres" "purpose" "postgres" "what" "...").
*/}}
{{- define "revmentor.secretName" -}}
{{- $block := .block | default dict }}
{{- if and $block.existingSecret $block.stringData }}
{{- fail (printf "%s: set either existingSecret (a Secret you manage) or stringData (evaluation only: the chart creates the Secret), not both" .path) }}
{{- else if $block.existingSecret }}
{{- $block.existingSecret }}
{{- else if $block.stringData }}
{{- printf "%s-%s" (include "revmentor.fullname" .root) .purpose | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- fail (printf "%s.existingSecret: name the Secret holding %s (or, for an evaluation, give %s.stringData and the chart creates it)" .path .what .path) }}
{{- end }}
{{- end }}

{{/*
One service's PostgreSQL settings: the top-level postgres block overlaid with
services.<name>.postgres. A service that names its own existingSecret or
stringData takes none of the top-level credentials. Adds secretName and
secretPath. Call with (dict "root" $ "name" "enrolment"); returns YAML.
*/}}
{{- define "revmentor.postgresConfig" -}}
{{- $svc := include "revmentor.serviceConfig" (dict "root" .root "name" .name) | fromYaml }}
{{- $over := $svc.postgres | default dict }}
{{- $global := .root.Values.postgres }}
{{- $credentials := list "existingSecret" "stringData" "userKey" "passwordKey" "dsnKey" }}
{{- $out := include "revmentor.deepMerge" (dict "base" (omit $global "existingSecret" "stringData" "userKey" "passwordKey" "dsnKey") "over" (omit $over "existingSecret" "stringData" "userKey" "passwordKey" "dsnKey")) | fromYaml }}
{{- $own := or $over.existingSecret $over.stringData }}
{{- $from := ternary $over $global (not (not $own)) }}
{{- $path := ternary (printf "services.%s.postgres" .name) "postgres" (not (not $own)) }}
{{- $purpose := ternary (printf "%s-postgres" .name) "postgres" (not (not $own)) }}
{{- $_ := set $out "existingSecret" ($from.existingSecret | default "") }}
{{- $_ := set $out "stringData" ($from.stringData | default dict) }}
{{- $_ := set $out "userKey" ($from.userKey | default "username") }}
{{- $_ := set $out "passwordKey" ($from.passwordKey | default "password") }}
{{- $_ := set $out "dsnKey" ($from.dsnKey | default "") }}
{{- /* One schema per service, never shared: the key store and audit chain
     tables have the same names in every service. */ -}}
{{- $prefix := $global.schema | default "revmentor" }}
{{- $_ := set $out "schema" ($over.schema | default (printf "%s_%s" $prefix .name)) }}
{{- $_ := set $out "secretPath" $path }}
{{- $_ := set $out "secretPurpose" $purpose }}
{{- $_ := set $out "secretName" (include "revmentor.secretName" (dict "root" .root "block" $from "path" $path "purpose" $purpose "what" "the PostgreSQL user name and password")) }}
{{- toYaml $out }}
{{- end }}

{{/*
The NATS credentials Secret's name (modes password, creds, nkey), "" for mode none.
*/}}
{{- define "revmentor.natsAuthSecret" -}}
{{- $auth := .Values.nats.auth }}
{{- if ne $auth.mode "none" }}
{{- include "revmentor.secretName" (dict "root" . "block" $auth "path" "nats.auth" "purpose" "nats-users" "what" "the NATS users' credentials (key <user> per service user and the bootstrap user)") }}
{{- end }}
{{- end }}

{{/*
The key of the NATS credentials Secret holding one user's credential.
Call with (dict "root" $ "user" "enrolment").
*/}}
{{- define "revmentor.natsAuthKey" -}}
{{- $mode := .root.Values.nats.auth.mode }}
{{- if eq $mode "password" }}{{ .user }}{{ else if eq $mode "creds" }}{{ printf "%s.creds" .user }}{{ else if eq $mode "nkey" }}{{ printf "%s.nk" .user }}{{ end }}
{{- end }}

{{/*
Environment connecting to NATS as one user: URL, credentials, inbox prefix, TLS.
Call with (dict "root" $ "user" "enrolment"); returns EnvVar list items.
*/}}
{{- define "revmentor.natsEnv" -}}
{{- $root := .root }}
{{- $nats := $root.Values.nats }}
{{- $mode := $nats.auth.mode }}
- name: NATS_URL
  value: {{ required "nats.url is required" $nats.url | quote }}
{{- if eq $mode "password" }}
- name: NATS_USER
  value: {{ .user | quote }}
- name: NATS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "revmentor.natsAuthSecret" $root }}
      key: {{ include "revmentor.natsAuthKey" . }}
{{- else if eq $mode "creds" }}
- name: NATS_CREDS
  value: "/etc/revmentor/nats/{{ include "revmentor.natsAuthKey" . }}"
{{- else if eq $mode "nkey" }}
- name: NATS_NKEY_SEED
  value: "/etc/revmentor/nats/{{ include "revmentor.natsAuthKey" . }}"
{{- end }}
{{- if ne $mode "none" }}
# Replies to this user's own inbox only (its permissions allow no other).
- name: NATS_INBOX_PREFIX
  value: "_INBOX_{{ .user }}"
{{- end }}
{{- if $nats.tls.enabled }}
- name: NATS_TLS_CA
  value: "/etc/revmentor/nats-tls/{{ $nats.tls.caKey }}"
{{- if $nats.tls.mutual }}
- name: NATS_TLS_CERT
  value: "/etc/revmentor/nats-tls/{{ $nats.tls.certKey }}"
- name: NATS_TLS_KEY
  value: "/etc/revmentor/nats-tls/{{ $nats.tls.keyKey }}"
{{- end }}
{{- with $nats.tls.serverName }}
- name: NATS_TLS_HOSTNAME
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Volume mounts for one user's NATS credential file and the NATS TLS material.
Call with (dict "root" $ "user" ...); returns VolumeMount list items (maybe none).
*/}}
{{- define "revmentor.natsMounts" -}}
{{- $nats := .root.Values.nats }}
{{- if has $nats.auth.mode (list "creds" "nkey") }}
- name: nats-credentials
  mountPath: /etc/revmentor/nats
  readOnly: true
{{- end }}
{{- if $nats.tls.enabled }}
- name: nats-tls
  mountPath: /etc/revmentor/nats-tls
  readOnly: true
{{- end }}
{{- end }}

{{/*
Volumes for one user's NATS credential file (only that user's item) and the NATS
TLS material. Call with (dict "root" $ "user" ...); returns Volume list items.
*/}}
{{- define "revmentor.natsVolumes" -}}
{{- $root := .root }}
{{- $nats := $root.Values.nats }}
{{- if has $nats.auth.mode (list "creds" "nkey") }}
# This user's NATS credential only (owner root, group fsGroup 10001).
- name: nats-credentials
  projected:
    defaultMode: 0440
    sources:
      - secret:
          name: {{ include "revmentor.natsAuthSecret" $root }}
          items:
            - key: {{ include "revmentor.natsAuthKey" . }}
              path: {{ include "revmentor.natsAuthKey" . }}
{{- end }}
{{- if $nats.tls.enabled }}
- name: nats-tls
  projected:
    defaultMode: 0440
    sources:
      - secret:
          name: {{ include "revmentor.secretName" (dict "root" $root "block" $nats.tls "path" "nats.tls" "purpose" "nats-tls" "what" "the CA of the NATS servers' certificate (and a client certificate with nats.tls.mutual)") }}
          items:
            - key: {{ $nats.tls.caKey }}
              path: {{ $nats.tls.caKey }}
            {{- if $nats.tls.mutual }}
            - key: {{ $nats.tls.certKey }}
              path: {{ $nats.tls.certKey }}
            - key: {{ $nats.tls.keyKey }}
              path: {{ $nats.tls.keyKey }}
            {{- end }}
{{- end }}
{{- end }}

{{/*
The restricted pod and container security contexts (Pod Security Standard
"restricted": non-root, read-only root filesystem, no privilege escalation, no
capabilities, RuntimeDefault seccomp).
*/}}
{{- define "revmentor.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "revmentor.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
The JWKS Secret's name when a JWKS document is mounted (auth.jwks), else "".
*/}}
{{- define "revmentor.jwksSecret" -}}
{{- $jwks := .Values.auth.jwks | default dict }}
{{- if or $jwks.existingSecret $jwks.stringData }}
{{- include "revmentor.secretName" (dict "root" . "block" $jwks "path" "auth.jwks" "purpose" "jwks" "what" "the JWKS document") }}
{{- end }}
{{- end }}
