// dfaasctl's client of the agent's HTTP API. Failures map to dfaasctl's exit codes (output.h):
// a bad --agent URL or a request the agent refuses (2), not found (3), permission (4), the agent
// unreachable: refused, unresolvable host, timeout (5), the agent's own failure (1).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "output.h"

namespace dfaas::cli {

// http://HOST[:PORT][/] (HOST a name, an IPv4 address or [IPv6]); nothing else.
struct AgentUrl {
    std::string host;
    uint16_t port = 80;
};
std::optional<AgentUrl> parse_agent_url(std::string_view text);

struct AgentOptions {
    std::string url = "http://127.0.0.1:9080";  // --agent, env DFAAS_AGENT
    std::string token;                          // --token, env DFAAS_TOKEN
    int timeout_ms = 5000;                      // --request-timeout
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
