// An empty function list from OpenFaaS while the node serves functions is believed only once it
// has persisted: a gateway that restarts (or a faas-netes that lost its informer cache) answers
// `[]` for a while, and applying that at once would delete every service and policy of the node
// and cut the connections through them. A non-empty list applies at once, as does an empty one
// when the node serves nothing. Pure: time is a parameter.
#pragma once

#include <chrono>
#include <optional>

namespace dfaas::agent {

class EmptyFunctionListGuard {
  public:
    using Time = std::chrono::system_clock::time_point;

    // `hold`: how long the empty answer must persist before it applies.
    explicit EmptyFunctionListGuard(std::chrono::milliseconds hold) : hold_(hold) {}

    // Called with every successful answer. True: apply the list now. False: keep the functions
    // the node has (the empty answer is not old enough yet).
    bool accept(bool list_empty, bool node_has_functions, Time now);

    // When the current run of empty answers began (for the log), if one is being held.
    std::optional<Time> empty_since() const { return empty_since_; }

  private:
    std::chrono::milliseconds hold_;
    std::optional<Time> empty_since_;
};

}  // namespace dfaas::agent
