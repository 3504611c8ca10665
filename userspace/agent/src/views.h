// JSON documents of the API (the stable schema dfaasctl reads; fields are only ever added).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "agent.h"

namespace dfaas::agent {

nlohmann::json status_json(const AgentView &v);
nlohmann::json functions_json(const AgentView &v);
// Every function's policy, or only `function` when not empty.
nlohmann::json policies_json(const AgentView &v, const std::string &function);
nlohmann::json peers_json(const AgentView &v);
nlohmann::json stats_json(const AgentView &v);

}  // namespace dfaas::agent
