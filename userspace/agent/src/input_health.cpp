#include "input_health.h"

namespace dfaas::agent {

void InputHealth::require(const std::string &input) {
    states_.try_emplace(input);
}

Transition InputHealth::ok(const std::string &input, std::chrono::system_clock::time_point now) {
    InputState &s = states_[input];
    bool was_failing = !s.ok || !s.ever_reported;
    s.ok = true;
    s.ever_reported = true;
    s.last_ok = now;
    s.last_error.clear();
    return was_failing ? Transition::BecameHealthy : Transition::None;
}

Transition InputHealth::failed(const std::string &input, const std::string &error,
                               std::chrono::system_clock::time_point now) {
    InputState &s = states_[input];
    bool was_ok = s.ok;
    bool same_error = s.last_error == error;
    s.ok = false;
    s.ever_reported = true;
    s.last_failure = now;
    s.last_error = error;
    s.failures += 1;
    // A different error while failing is news too (e.g. refused -> timeout).
    return was_ok || !same_error ? Transition::BecameUnhealthy : Transition::None;
}

void InputHealth::forget(const std::string &input) {
    states_.erase(input);
}

std::vector<std::string> InputHealth::problems() const {
    std::vector<std::string> out;
    for (const auto &[name, s] : states_) {
        if (!s.ever_reported)
            out.push_back(name + ": no answer yet");
        else if (!s.ok)
            out.push_back(name + ": " + s.last_error);
    }
    return out;
}

}  // namespace dfaas::agent
