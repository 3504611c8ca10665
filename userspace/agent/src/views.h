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

// The body of PUT /v1/policies/{f}: {"local":60,"peers":{"<ip or node id>":40},"reject":0,
// "local_cap":0,"overflow":{...},"limit_in":{...},"ttl_s":300}. Peers may be named by address
// or node id. Throws std::invalid_argument naming the field.
FunctionPolicy policy_from_request(const nlohmann::json &body, const AgentView &v);

}  // namespace dfaas::agent
