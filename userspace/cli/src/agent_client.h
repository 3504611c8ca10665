// dfaasctl's client of the agent's HTTP API. Failures map to dfaasctl's exit codes: the agent
// unreachable (2), not found (3), permission (4), anything else (1).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "output.h"

namespace dfaas::cli {

struct AgentOptions {
    std::string url = "http://127.0.0.1:9080";  // --agent, env DFAAS_AGENT
    std::string token;                          // --token, env DFAAS_TOKEN
    int timeout_ms = 5000;
};

class AgentClient {
  public:
    explicit AgentClient(AgentOptions options);
    // Throws CommandError with the exit code and a one-line message.
    nlohmann::json get(const std::string &path) const;
    nlohmann::json put(const std::string &path, const nlohmann::json &body) const;
    nlohmann::json post(const std::string &path, const nlohmann::json &body) const;
    nlohmann::json del(const std::string &path) const;

  private:
    nlohmann::json request(const std::string &method, const std::string &path,
                           const std::string *body) const;
    AgentOptions options_;
};

}  // namespace dfaas::cli
