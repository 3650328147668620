{{/*
Chart name, overridable with nameOverride.
*/}}
{{- define "clusterlink.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name: the release name, plus the chart name unless it already contains it.
*/}}
{{- define "clusterlink.fullname" -}}
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
Name of the operator's Deployment, Service, roles and bindings.
*/}}
{{- define "clusterlink.operatorName" -}}
{{- printf "%s-operator" (include "clusterlink.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Chart label value.
*/}}
{{- define "clusterlink.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels common to every object of the release.
*/}}
{{- define "clusterlink.labels" -}}
helm.sh/chart: {{ include "clusterlink.chart" . }}
{{ include "clusterlink.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: clusterlink
{{- end }}

{{/*
Selector labels (completed with app.kubernetes.io/component by each workload).
*/}}
{{- define "clusterlink.selectorLabels" -}}
app.kubernetes.io/name: {{ include "clusterlink.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The operator's ServiceAccount.
*/}}
{{- define "clusterlink.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "clusterlink.operatorName" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The leader-election Lease's name.
*/}}
{{- define "clusterlink.leaseName" -}}
{{- default (include "clusterlink.operatorName" .) .Values.leaderElection.leaseName }}
{{- end }}

{{/*
The container image.
*/}}
{{- define "clusterlink.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
The hardened container securityContext shared by the operator and the link servers.
*/}}
{{- define "clusterlink.containerSecurityContext" -}}
runAsNonRoot: true
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
The operator's RBAC rules, least privilege (see deploy/operator/rbac.yaml).
*/}}
{{- define "clusterlink.operatorRules" -}}
- apiGroups: ["platform.confluent.io"]
  resources: ["clusterlinks"]
  verbs: ["get", "list", "watch", "patch", "update"]
- apiGroups: ["platform.confluent.io"]
  resources: ["clusterlinks/status"]
  verbs: ["get", "patch", "update"]
- apiGroups: ["platform.confluent.io"]
  resources: ["clusterlinks/finalizers"]
  verbs: ["update"]
- apiGroups: ["platform.confluent.io"]
  resources: ["kafkarestclasses"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["platform.confluent.io"]
  resources: ["kafkas"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["kafka.strimzi.io"]
  resources: ["kafkas"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["platform.confluent.io"]
  resources: ["kafkatopics"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
- apiGroups: ["platform.confluent.io"]
  resources: ["kafkatopics/status"]
  verbs: ["get", "patch", "update"]
- apiGroups: ["platform.confluent.io"]
  resources: ["kafkatopics/finalizers"]
  verbs: ["update"]
- apiGroups: [""]
  resources: ["secrets"]
  # Read by name when a resource refers to them: never listed, watched or cached.
  verbs: ["get"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}

{{/*
The scrape interval and timeout of a ServiceMonitor endpoint.
*/}}
{{- define "clusterlink.scrapeSettings" -}}
{{- with .Values.metrics.serviceMonitor.interval }}
interval: {{ . }}
{{- end }}
{{- with .Values.metrics.serviceMonitor.scrapeTimeout }}
scrapeTimeout: {{ . }}
{{- end }}
{{- end }}
