{{/*
Naming and labels (the usual Helm conventions: names are cut to 63 characters,
the DNS label limit).
*/}}
{{- define "jobmanager.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "jobmanager.fullname" -}}
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

{{- define "jobmanager.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "jobmanager.selectorLabels" -}}
app.kubernetes.io/name: {{ include "jobmanager.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "jobmanager.labels" -}}
helm.sh/chart: {{ include "jobmanager.chart" . }}
{{ include "jobmanager.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: jobmanager
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The JobManager pod's selector (component keeps the simulator's pods apart). */}}
{{- define "jobmanager.jmSelectorLabels" -}}
{{ include "jobmanager.selectorLabels" . }}
app.kubernetes.io/component: jobmanager
{{- end }}

{{- define "jobmanager.tmSelectorLabels" -}}
{{ include "jobmanager.selectorLabels" . }}
app.kubernetes.io/component: taskmanager-sim
{{- end }}

{{- define "jobmanager.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "jobmanager.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "jobmanager.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end }}

{{/* Secret holding the RPC bearer token: an existing one, or the chart's. */}}
{{- define "jobmanager.rpcSecretName" -}}
{{- default (printf "%s-rpc" (include "jobmanager.fullname" .)) .Values.rpc.auth.existingSecret }}
{{- end }}

{{- define "jobmanager.rpcSecretKey" -}}
{{- if .Values.rpc.auth.existingSecret }}{{ .Values.rpc.auth.existingSecretKey }}{{ else }}token{{ end }}
{{- end }}

{{- define "jobmanager.configMapName" -}}
{{- printf "%s-config" (include "jobmanager.fullname" .) }}
{{- end }}

{{- define "jobmanager.pvcName" -}}
{{- default (printf "%s-storage" (include "jobmanager.fullname" .)) .Values.persistence.existingClaim }}
{{- end }}

{{/* Paths inside the pod. */}}
{{- define "jobmanager.configDir" -}}/etc/jobmanager{{- end }}
{{- define "jobmanager.tokenDir" -}}/var/run/secrets/jobmanager/rpc{{- end }}

{{/*
The graceful-shutdown delay the app is given (seconds) and the pod's grace
period, which must be longer so Kubernetes never SIGKILLs a clean shutdown.
*/}}
{{- define "jobmanager.terminationGracePeriodSeconds" -}}
{{- $shutdown := int64 .Values.shutdown.timeoutSeconds -}}
{{- $grace := int64 (default (add $shutdown 15) .Values.terminationGracePeriodSeconds) -}}
{{- if le $grace $shutdown -}}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be larger than shutdown.timeoutSeconds (%d), or Kubernetes kills the JobManager before its graceful shutdown ends" $grace $shutdown) -}}
{{- end -}}
{{- $grace -}}
{{- end }}

{{/*
Flatten `config` (flat dotted keys or nested maps) into dotted keys, as the app
reads appsettings.json. Returns JSON.
*/}}
{{- define "jobmanager.flattenConfig" -}}
{{- $out := dict -}}
{{- range $k, $v := .map -}}
{{- $key := ternary $k (printf "%s.%s" $.prefix $k) (eq $.prefix "") -}}
{{- if kindIs "map" $v -}}
{{- $out = merge $out (include "jobmanager.flattenConfig" (dict "map" $v "prefix" $key) | fromJson) -}}
{{- else -}}
{{- $_ := set $out $key $v -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end }}

{{/*
Keys the chart sets itself (env wins over appsettings.json in the app, so a
value under `config` would be silently ignored): refuse them and name the value
to use instead.
*/}}
{{- define "jobmanager.checkConfig" -}}
{{- $flat := include "jobmanager.flattenConfig" (dict "map" (default dict .Values.config) "prefix" "") | fromJson -}}
{{- $managed := dict
  "jobmanager.process.memory.size" "memory.process"
  "jobmanager.memory.process.size" "memory.process"
  "jobmanager.heap.memory.size" "memory.heap"
  "jobmanager.memory.heap.size" "memory.heap"
  "jobmanager.offheap.memory.size" "memory.offHeap"
  "jobmanager.memory.off-heap.size" "memory.offHeap"
  "jobmanager.network.memory.size" "memory.network"
  "jobmanager.network.memory.segment-size" "memory.networkSegmentSize"
  "jobmanager.heap.semi-space.size" "memory.semiSpace"
  "jobmanager.overhead.memory.fraction" "memory.overhead.fraction"
  "jobmanager.memory.jvm-overhead.fraction" "memory.overhead.fraction"
  "jobmanager.overhead.memory.min" "memory.overhead.min"
  "jobmanager.memory.jvm-overhead.min" "memory.overhead.min"
  "jobmanager.overhead.memory.max" "memory.overhead.max"
  "jobmanager.memory.jvm-overhead.max" "memory.overhead.max"
  "jobmanager.cache.memory.fraction" "memory.cacheFraction"
  "jobmanager.container.memory.limit" "resources.limits.memory"
  "rest.port" "service.restPort"
  "rest.bind-address" "(always 0.0.0.0 in the pod)"
  "jobmanager.rpc.port" "service.rpcPort"
  "jobmanager.rpc.bind-address" "(always 0.0.0.0 in the pod)"
  "jobmanager.rpc.auth.token" "rpc.auth.existingSecret"
  "jobmanager.rpc.auth.token-file" "rpc.auth.existingSecret"
  "jobmanager.storage.dir" "persistence.mountPath"
  "jobmanager.shutdown.timeout" "shutdown.timeoutSeconds"
-}}
{{- range $k, $_ := $flat -}}
{{- if hasKey $managed $k -}}
{{- fail (printf "config.%s is set by the chart; use the value %s instead" $k (get $managed $k)) -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/* appsettings.json: `config` as given (flat or nested), pretty JSON. */}}
{{- define "jobmanager.appSettings" -}}
{{- toPrettyJson (default dict .Values.config) -}}
{{- end }}
