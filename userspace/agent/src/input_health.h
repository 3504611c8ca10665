// Health of the agent's inputs (OpenFaaS, Prometheus, forecaster, external model, peers): a
// failing input never stops the agent; it is counted, logged once per change of state, and makes
// the agent report not ready with the reason.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dfaas::agent {

struct InputState {
    bool ok = true;
    bool ever_reported = false;
    std::string last_error;
    std::chrono::system_clock::time_point last_ok{};
    std::chrono::system_clock::time_point last_failure{};
    uint64_t failures = 0;  // total, for the exporter
};

enum class Transition { None, BecameHealthy, BecameUnhealthy };

class InputHealth {
  public:
    // Registers an input that must report before the agent is ready (e.g. "openfaas").
    void require(const std::string &input);
    Transition ok(const std::string &input, std::chrono::system_clock::time_point now);
    Transition failed(const std::string &input, const std::string &error,
                      std::chrono::system_clock::time_point now);
    // Drops an input that no longer matters (e.g. the forecaster after a strategy change).
    void forget(const std::string &input);

    // Why the agent is not ready: one line per failing or never-reported required input.
    std::vector<std::string> problems() const;
    const std::map<std::string, InputState> &states() const { return states_; }

  private:
    std::map<std::string, InputState> states_;
};

}  // namespace dfaas::agent
