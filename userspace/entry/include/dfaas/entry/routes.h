// The entry port's route picker (issue 18): which target a connection naming a function goes to,
// chosen with the function's installed policy exactly as the data plane lays it out. The tables
// are the data plane's own (dp::compile_policy: the SWRR slot table, the overflow table); the
// entry walks them with a sequence of its own per function, and honours local_cap in the data
// plane's own rate window of the function (LocalAdmission), else with a per-second count of the
// connections it sent to the local gateway.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dfaas/net.h"
#include "dfaas/policy.h"

namespace dfaas::entry {

enum class RouteKind { Local, Peer, Reject };

struct Route {
    RouteKind kind = RouteKind::Local;
    Ipv4 peer;  // RouteKind::Peer

    bool operator==(const Route &) const = default;
    // "local", "reject" or the peer's address (the route label of the entry's counters).
    std::string label() const;
};

// Checks a function's local cap and counts one connection against it: true = under the cap
// (counted), false = reached. The agent gives the data plane's window (Dataplane::admit_local),
// so that the entry's and the function port's local connections share one cap.
using LocalAdmission = std::function<bool(const std::string &function, uint32_t cap)>;

class RouteTable {
  public:
    // Without one (tests, no data plane), the entry counts its own local connections per second.
    void set_local_admission(LocalAdmission admission) { admission_ = std::move(admission); }

    // Replaces the functions and their policies. A function keeps its sequence (and its
    // per-second local count) when its policy is unchanged; a new or changed policy starts at
    // the table's first slot. A policy the compiler refuses is installed as all-local, and its
    // function is listed in the return value.
    std::vector<std::string> install(const PolicySet &policies);

    // The route of the next connection to `function` (now_second: a monotonic second, for the
    // local cap); nullopt when the function is unknown. Not thread-safe: the entry's loop owns it.
    std::optional<Route> pick(const std::string &function, uint64_t now_second);

    bool knows(const std::string &function) const { return functions_.count(function) != 0; }

  private:
    struct Compiled {
        FunctionPolicy policy;
        std::vector<Route> table;     // one SWRR cycle
        std::vector<Route> overflow;  // one cycle; empty = reject when over local_cap
        uint64_t sequence = 0;
        uint64_t overflow_sequence = 0;
        uint64_t second = 0;
        uint32_t local_this_second = 0;
    };
    static Compiled compile(const FunctionPolicy &policy);
    std::map<std::string, Compiled> functions_;
    LocalAdmission admission_;
};

}  // namespace dfaas::entry
