// The Prometheus exporter: the agent's view rendered in the text exposition format (through
// prometheus-cpp's serializer). Every name starts with dfaas_ (plus the standard process_* set),
// counters end in _total, values are in base units named in the metric (seconds, bytes, _ratio,
// _timestamp_seconds for Unix times), a peer is always the label `peer`; `promtool check metrics`
// passes on the output (tested).
#pragma once

#include <string>

#include "agent.h"
#include "dfaas/peers/guarded_server.h"

namespace dfaas::agent {

std::string render_metrics(const AgentView &view);
// The HTTP listeners' counters (dfaas_http_refused_total{listener,reason},
// dfaas_http_connections{listener}, ...), appended to render_metrics' output by /metrics.
std::string render_http_metrics(const std::vector<peers::HttpListenerSnapshot> &listeners);

}  // namespace dfaas::agent
