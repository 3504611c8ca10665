// The agent's HTTP API (cpp-httplib): health, readiness, metrics, the /v1 read endpoints and the
// operator's mutations (from loopback, or with the control token).
#pragma once

#include "agent.h"

namespace dfaas::agent {

void register_api(httplib::Server &server, Agent &agent, const Config &cfg);

}  // namespace dfaas::agent
