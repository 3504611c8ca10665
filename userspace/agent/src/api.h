// The agent's HTTP API (cpp-httplib behind a GuardedServer): health, readiness, metrics, the /v1
// read endpoints and the operator's mutations (from loopback, or with the control token, checked
// before the body is read). /healthz and /readyz are also served by a listener of their own
// (api.health_listen) so that a slow client on the API cannot fail the probes.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "agent.h"
#include "dfaas/peers/guarded_server.h"

namespace dfaas::agent {

// The API listener's limits: 64 KiB bodies, api.max_connections_per_source, api.max_connections.
peers::GuardSettings api_guard_settings(const Config &cfg);
// The health listener's: GET only, short deadlines, 16 connections.
peers::GuardSettings health_guard_settings(const Config &cfg);

void register_api(peers::GuardedServer &server, Agent &agent, const Config &cfg);
// /healthz and /readyz only.
void register_health_api(peers::GuardedServer &server, Agent &agent);

// The text of an API answer. Strings the agent did not write (an input's error message quoting
// a garbage Prometheus or OpenFaaS answer) may hold invalid UTF-8: those bytes become U+FFFD
// instead of the serializer throwing, so /readyz and /v1/status always answer.
std::string api_json_text(const nlohmann::json &body);

}  // namespace dfaas::agent
