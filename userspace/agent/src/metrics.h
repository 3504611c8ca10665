// The Prometheus exporter: the agent's view rendered in the text exposition format (through
// prometheus-cpp's serializer). Every name starts with dfaas_, counters end in _total, units are
// in the names; `promtool check metrics` passes on the output (tested).
#pragma once

#include <string>

#include "agent.h"

namespace dfaas::agent {

std::string render_metrics(const AgentView &view);

}  // namespace dfaas::agent
