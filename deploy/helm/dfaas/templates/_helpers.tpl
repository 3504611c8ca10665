{{/* Names and labels. */}}
{{- define "dfaas.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "dfaas.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "dfaas.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "dfaas.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "dfaas.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dfaas.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "dfaas.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name (.Chart.Version | replace "+" "_") }}
{{ include "dfaas.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: agent
app.kubernetes.io/part-of: dfaas
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "dfaas.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "dfaas.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "dfaas.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "dfaas.clusterKeySecret" -}}
{{- default (printf "%s-cluster-key" (include "dfaas.fullname" .)) .Values.clusterKey.existingSecret -}}
{{- end -}}

{{- define "dfaas.apiTokenSecret" -}}
{{- default (printf "%s-api-token" (include "dfaas.fullname" .)) .Values.apiToken.existingSecret -}}
{{- end -}}

{{/*
dfaas.configLeaf: one key of .Values.config. An empty string becomes null in the file (the agent's
default applies); a string holding $(...) goes to the environment as DFAAS_<PATH> (Kubernetes
expands $(AGENT_NODE_IP) per node) and is null in the file; anything else is written as is.
Arguments: target (dict being built), key, path (dotted), value, env (dict of variables).
*/}}
{{- define "dfaas.configLeaf" -}}
{{- if and (kindIs "string" .value) (eq .value "") -}}
{{- $_ := set .target .key nil -}}
{{- else if and (kindIs "string" .value) (contains "$(" .value) -}}
{{- $_ := set .env (printf "DFAAS_%s" (.path | replace "." "_" | upper)) .value -}}
{{- $_ := set .target .key nil -}}
{{- else -}}
{{- $_ := set .target .key .value -}}
{{- end -}}
{{- end -}}

{{/*
dfaas.agentConfig: JSON {"file": <agent.yaml content>, "env": {NAME: value}} from .Values.config
(sections, keys, and one more level for ct_timeouts, nms and external), after the chart's checks.
*/}}
{{- define "dfaas.agentConfig" -}}
{{- $c := .Values.config -}}
{{- if $c.node.ip -}}
{{- fail "config.node.ip must stay empty: each pod gets its node's IP from the downward API (AGENT_NODE_IP)" -}}
{{- end -}}
{{- if $c.node.id -}}
{{- fail "config.node.id must stay empty: one id for every node would break the federation (ids are generated into config.node.id_file)" -}}
{{- end -}}
{{- if not (hasPrefix (printf "%s/" (trimSuffix "/" .Values.hostPaths.bpffs)) $c.dataplane.bpffs) -}}
{{- fail (printf "config.dataplane.bpffs (%s) must be inside hostPaths.bpffs (%s)" $c.dataplane.bpffs .Values.hostPaths.bpffs) -}}
{{- end -}}
{{- if not (hasPrefix (printf "%s/" (trimSuffix "/" .Values.hostPaths.state)) $c.node.id_file) -}}
{{- fail (printf "config.node.id_file (%s) must be inside hostPaths.state (%s) to survive restarts" $c.node.id_file .Values.hostPaths.state) -}}
{{- end -}}
{{- if and $c.node.state_file (not (hasPrefix (printf "%s/" (trimSuffix "/" .Values.hostPaths.state)) $c.node.state_file)) -}}
{{- fail (printf "config.node.state_file (%s) must be inside hostPaths.state (%s): operator overrides survive restarts there" $c.node.state_file .Values.hostPaths.state) -}}
{{- end -}}
{{- $file := dict -}}
{{- $env := dict -}}
{{- range $section, $keys := $c -}}
{{- $s := dict -}}
{{- range $key, $value := $keys -}}
{{- if kindIs "map" $value -}}
{{- $sub := dict -}}
{{- range $k2, $v2 := $value -}}
{{- $_ := include "dfaas.configLeaf" (dict "target" $sub "key" $k2 "path" (printf "%s.%s.%s" $section $key $k2) "value" $v2 "env" $env) -}}
{{- end -}}
{{- $_ := set $s $key $sub -}}
{{- else -}}
{{- $_ := include "dfaas.configLeaf" (dict "target" $s "key" $key "path" (printf "%s.%s" $section $key) "value" $value "env" $env) -}}
{{- end -}}
{{- end -}}
{{- $_ := set $file $section $s -}}
{{- end -}}
{{- toJson (dict "file" $file "env" $env) -}}
{{- end -}}

{{/* The API's port and the address the kubelet probes (loopback when listening everywhere). */}}
{{- define "dfaas.apiPort" -}}
{{- last (splitList ":" (default "0.0.0.0:9080" .Values.config.api.listen)) -}}
{{- end -}}

{{- define "dfaas.healthPort" -}}
{{- last (splitList ":" (default "0.0.0.0:9081" .Values.config.api.health_listen)) -}}
{{- end -}}

{{- define "dfaas.healthHost" -}}
{{- $ip := first (splitList ":" (default "0.0.0.0:9081" .Values.config.api.health_listen)) -}}
{{- if eq $ip "0.0.0.0" -}}127.0.0.1{{- else -}}{{ $ip }}{{- end -}}
{{- end -}}

{{- define "dfaas.apiHost" -}}
{{- $ip := first (splitList ":" (default "0.0.0.0:9080" .Values.config.api.listen)) -}}
{{- if eq $ip "0.0.0.0" -}}127.0.0.1{{- else -}}{{ $ip }}{{- end -}}
{{- end -}}

{{/* Monitoring (Prometheus Operator): a scrape of the API port needs a non-loopback api.listen. */}}
{{- define "dfaas.checkScrapable" -}}
{{- $ip := first (splitList ":" (default "0.0.0.0:9080" .Values.config.api.listen)) -}}
{{- if hasPrefix "127." $ip -}}
{{- fail (printf "metrics.podMonitor/serviceMonitor: config.api.listen (%s) is loopback: Prometheus could not scrape /metrics; listen on 0.0.0.0 or the node's address" .Values.config.api.listen) -}}
{{- end -}}
{{- end -}}
