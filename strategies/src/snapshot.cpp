#include "dfaas/strategy/snapshot.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "dfaas/strategy/error.h"

namespace dfaas::strategy {

namespace {

void require_non_negative(double value, const std::string &what) {
    if (!std::isfinite(value) || value < 0.0)
        throw Error("snapshot: " + what + " must be a finite number >= 0, got " +
                    std::to_string(value));
}

void require_positive(double value, const std::string &what) {
    if (!std::isfinite(value) || value <= 0.0)
        throw Error("snapshot: " + what + " must be a finite number > 0, got " +
                    std::to_string(value));
}

// The observation's fractions (docs/strategies.md, "The external model's observation").
void require_fraction(double value, const std::string &what) {
    if (!std::isfinite(value) || value < 0.0 || value > 1.0)
        throw Error("snapshot: " + what + " must be a fraction in 0..1, got " +
                    std::to_string(value));
}

void validate_functions(const std::vector<LocalFunction> &functions) {
    std::set<std::string_view> seen;
    for (const auto &function : functions) {
        if (function.name.empty()) throw Error("snapshot: a local function has an empty name");
        if (!seen.insert(function.name).second)
            throw Error("snapshot: local function '" + function.name + "' listed twice");
    }
}

void validate_window(const NodeWindow &window, const std::string &what) {
    require_non_negative(window.input_rate, what + ".input_rate");
    require_fraction(window.reject_rate, what + ".reject_rate");
    require_non_negative(window.avg_response_time_local_ms, what + ".avg_response_time_local_ms");
    require_fraction(window.cpu_utilization, what + ".cpu_utilization");
    require_non_negative(window.replicas, what + ".replicas");
    for (const auto &[peer, measured] : window.peers) {
        const std::string prefix = what + ".peers['" + peer + "']";
        require_non_negative(measured.forwarded_rate, prefix + ".forwarded_rate");
        require_non_negative(measured.forwarded_rejected_rate, prefix + ".forwarded_rejected_rate");
        require_non_negative(measured.avg_response_time_ms, prefix + ".avg_response_time_ms");
    }
}

void validate_action(const ExternalAction &action) {
    auto check = [](double proportion, const std::string &what) {
        if (!std::isfinite(proportion) || proportion < 0.0 || proportion > 1.0)
            throw Error("snapshot: external action " + what +
                        " must be a proportion in 0..1, got " + std::to_string(proportion));
    };
    check(action.local, "local");
    check(action.reject, "reject");
    for (const auto &[peer, proportion] : action.peers)
        check(proportion, "of peer '" + peer + "'");
}

}  // namespace

void validate(const Snapshot &snapshot) {
    if (snapshot.node_id.empty()) throw Error("snapshot: empty node id");
    if (snapshot.period <= Millis{0})
        throw Error("snapshot: period must be positive, got " +
                    std::to_string(snapshot.period.count()) + " ms");
    require_positive(snapshot.thresholds.cpu, "cpu threshold");
    require_positive(snapshot.thresholds.ram, "ram threshold");
    require_positive(snapshot.thresholds.power, "power threshold");
    validate_functions(snapshot.functions);
    for (const auto &[function, rate] : snapshot.user_rates)
        require_non_negative(rate, "user rate of '" + function + "'");
    if (snapshot.peers.self_id() != snapshot.node_id)
        throw Error("snapshot: the peer table belongs to '" + snapshot.peers.self_id() +
                    "', not to this node '" + snapshot.node_id + "'");
    validate_window(snapshot.external.current, "external.current");
    validate_window(snapshot.external.previous, "external.previous");
    if (snapshot.external.action) validate_action(*snapshot.external.action);
}

double user_rate(const Snapshot &snapshot, const std::string &function) {
    auto found = snapshot.user_rates.find(function);
    return found == snapshot.user_rates.end() ? 0.0 : found->second;
}

std::vector<std::string> local_function_names(const Snapshot &snapshot) {
    std::vector<std::string> names;
    names.reserve(snapshot.functions.size());
    for (const auto &function : snapshot.functions)
        names.push_back(function.name);
    std::sort(names.begin(), names.end());
    return names;
}

}  // namespace dfaas::strategy
