// What /readyz answers, kept apart from the agent's state lock (issue 14: probes never miss).
//
// The agent publishes its readiness each time an input's health is noted (under its state lock,
// which the control tick and the period step hold while they call the data plane for hundreds
// of functions). The probe handlers only read this board: its mutex is held to copy a flag and
// a few strings, never across a data-plane call or an I/O, so a probe is answered in
// microseconds however long a tick or a step takes.
#pragma once

#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace dfaas::agent {

struct Readiness {
    bool ready = false;
    std::vector<std::string> reasons;  // why not ready: one line per failing input
};

class ReadinessBoard {
  public:
    void publish(std::vector<std::string> reasons) {
        std::lock_guard lock(mu_);
        current_.ready = reasons.empty();
        current_.reasons = std::move(reasons);
    }
    Readiness current() const {
        std::lock_guard lock(mu_);
        return current_;
    }

  private:
    mutable std::mutex mu_;
    // Until the agent publishes (its constructor does), nothing is known: not ready.
    Readiness current_{false, {"agent: starting"}};
};

}  // namespace dfaas::agent
