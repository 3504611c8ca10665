#include <algorithm>
#include <array>
#include <cmath>
#include <exception>

#include "dfaas/strategy/strategies.h"
#include "policy_helpers.h"

namespace dfaas::strategy {

namespace {

constexpr double kStepFraction = 0.01;  // each step moves 1 % of what is still kept
constexpr std::array<Group, 3> kGroups{Group::High, Group::Low, Group::Medium};

// What Node Margin knows of this node's own functions.
struct OwnFunctions {
    std::vector<std::string> names;                      // sorted
    std::map<std::string, double> rates;                 // user req/s
    std::map<std::string, std::optional<Group>> groups;  // nullopt: in no group
    GroupLoad load;                                      // per-group sum of the rates
};

// A common neighbour that reported a positive margin: a candidate to take load.
struct Target {
    const PeerEntry *peer;
    const NmsNodeInfo *info;
    NmsMargin reported;
    std::vector<std::string> functions;  // common and grouped, sorted
    size_t cursor = 0;                   // the next function to offer it
    double reported_usage = 0.0;         // usage_percent of its reported load
    GroupLoad moved;                     // what this node already moved to it
};

struct CommonNeighbour {
    const PeerEntry *peer;
    const NmsNodeInfo *info;
    std::vector<std::string> functions;  // common with this node, sorted
};

struct OffloadResult {
    std::map<std::string, double> kept;
    std::map<std::string, std::map<std::string, double>> forwarded;  // peer -> f -> req/s
    size_t accepted_steps = 0;
    bool still_overloaded = false;
    bool step_limit_reached = false;
};

OwnFunctions own_functions(const Snapshot &snapshot, std::vector<std::string> &warnings) {
    OwnFunctions own;
    own.names = local_function_names(snapshot);
    for (const auto &function : snapshot.functions) {
        const double rate = user_rate(snapshot, function.name);
        const auto group = group_of(function, snapshot.groups, warnings);
        own.rates[function.name] = rate;
        own.groups[function.name] = group;
        if (group) own.load[*group] += rate;  // functions in no group are ignored, as the reference
    }
    return own;
}

// Live peers with node info that share at least one function, recomputed every period (the
// reference never reset its "common neighbour" flag).
std::vector<CommonNeighbour> common_neighbours(const Snapshot &snapshot,
                                               const std::vector<std::string> &names) {
    std::vector<CommonNeighbour> result;
    for (const PeerEntry *peer : snapshot.peers.live(snapshot.now)) {
        const NmsNodeInfo *info = snapshot.peers.fresh(*peer, peer->nms_info, snapshot.now);
        if (info == nullptr) continue;
        std::vector<std::string> common;
        std::set_intersection(info->functions.begin(), info->functions.end(), names.begin(),
                              names.end(), std::back_inserter(common));
        if (!common.empty()) result.push_back({peer, info, std::move(common)});
    }
    return result;
}

GroupLoad plus(GroupLoad a, const GroupLoad &b) {
    for (Group group : kGroups)
        a[group] += b[group];
    return a;
}

// Neighbours with a positive margin, offered only the functions of a group: a function in no
// group is invisible to the forecaster, so moving it could never end the overload (the
// reference looped forever on one).
std::vector<Target> offload_targets(const Snapshot &snapshot, const OwnFunctions &own,
                                    const std::vector<CommonNeighbour> &common,
                                    const Forecaster &forecaster) {
    std::vector<Target> targets;
    for (const auto &neighbour : common) {
        const NmsMargin *margin =
            snapshot.peers.fresh(*neighbour.peer, neighbour.peer->nms_margin, snapshot.now);
        if (margin == nullptr || margin->margin <= 0.0) continue;
        Target target{neighbour.peer, neighbour.info, *margin, {}, 0, 0.0, {}};
        for (const auto &name : neighbour.functions)
            if (own.groups.at(name)) target.functions.push_back(name);
        if (target.functions.empty()) continue;
        target.reported_usage =
            usage_percent(forecaster.predict(margin->load, neighbour.info->node_type),
                          neighbour.info->thresholds);
        targets.push_back(std::move(target));
    }
    return targets;
}

void remove_function(Target &target, const std::string &name) {
    auto found = std::find(target.functions.begin(), target.functions.end(), name);
    if (found == target.functions.end()) return;
    const auto position = static_cast<size_t>(found - target.functions.begin());
    target.functions.erase(found);
    if (position < target.cursor) --target.cursor;
    if (target.cursor >= target.functions.size()) target.cursor = 0;
}

// Round robin in id order: the target after `visited`, wrapping.
size_t next_turn(const std::vector<Target> &targets, const std::string &visited) {
    auto after = std::find_if(targets.begin(), targets.end(),
                              [&](const Target &target) { return target.peer->id > visited; });
    return after == targets.end() ? 0 : static_cast<size_t>(after - targets.begin());
}

// Whether `target` takes `request` req/s more of `group`: its margin must exceed the usage the
// request adds on top of its reported load and what this node already moved to it.
bool accepts(const Target &target, Group group, double request, const Forecaster &forecaster) {
    GroupLoad with_request = target.reported.load;
    with_request[group] += request;
    with_request = plus(with_request, target.moved);
    const double added = usage_percent(forecaster.predict(with_request, target.info->node_type),
                                       target.info->thresholds) -
                         target.reported_usage;
    return target.reported.margin > added;
}

// calculateWeights() of the reference: offer 1 % of a function's kept rate to one neighbour at
// a time; the neighbour takes it while its margin exceeds the usage the extra load adds.
OffloadResult offload(const Snapshot &snapshot, const OwnFunctions &own,
                      std::vector<Target> targets, bool overloaded, const Forecaster &forecaster) {
    OffloadResult result;
    result.kept = own.rates;
    GroupLoad kept_load = own.load;
    size_t turn = 0;
    for (size_t iteration = 0; overloaded && !targets.empty(); ++iteration) {
        if (iteration == kNmsMaxIterations) {
            result.step_limit_reached = true;
            break;
        }
        Target &target = targets[turn];
        const std::string visited = target.peer->id;
        const std::string name = target.functions[target.cursor];
        double &kept = result.kept[name];
        const Group group = *own.groups.at(name);  // targets are offered grouped functions only
        const double request = kept * kStepFraction;
        if (kept <= 0.0) {
            for (auto &other : targets)
                remove_function(other, name);
        } else if (accepts(target, group, request, forecaster)) {
            kept -= request;
            result.forwarded[visited][name] += request;
            target.moved[group] += request;
            kept_load[group] -= request;
            ++result.accepted_steps;
            overloaded =
                exceeds(forecaster.predict(kept_load, snapshot.node_type), snapshot.thresholds);
            target.cursor = (target.cursor + 1) % target.functions.size();
        } else {
            remove_function(target, name);
        }
        std::erase_if(targets, [](const Target &t) { return t.functions.empty(); });
        turn = next_turn(targets, visited);
    }
    result.still_overloaded = overloaded;
    return result;
}

// Per function: local round(kept/rate·100), each neighbour round(forwarded/rate·100).
PolicySet offload_policies(const Snapshot &snapshot, const OwnFunctions &own,
                           const OffloadResult &result) {
    PolicySet policies;
    for (const auto &name : own.names) {
        const double total = own.rates.at(name);
        FunctionPolicy policy;
        if (total > 0.0) {
            policy.local = static_cast<uint32_t>(std::lround(result.kept.at(name) / total * 100.0));
            for (const auto &[peer_id, by_function] : result.forwarded) {
                auto moved = by_function.find(name);
                if (moved == by_function.end()) continue;
                const auto weight =
                    static_cast<uint32_t>(std::lround(moved->second / total * 100.0));
                detail::add_peer_weight(policy.peers, snapshot.peers.find(peer_id)->address,
                                        weight);
            }
        }
        policies[name] = policy;
    }
    return policies;
}

void fall_back(Decision &decision, const OwnFunctions &own, const std::exception &error) {
    decision.degraded = std::string("forecaster failed: ") + error.what() +
                        "; every function stays local this period";
    decision.policies = detail::all_local_policies(own.names);
}

}  // namespace

double usage_percent(const Prediction &prediction, const Thresholds &thresholds) {
    return (prediction.cpu * 100.0 / thresholds.cpu + prediction.ram * 100.0 / thresholds.ram +
            prediction.power * 100.0 / thresholds.power) /
           3.0;
}

bool exceeds(const Prediction &prediction, const Thresholds &thresholds) {
    return prediction.cpu > thresholds.cpu || prediction.ram > thresholds.ram ||
           prediction.power > thresholds.power;
}

Decision NodeMarginStrategy::step(const Snapshot &snapshot, size_t index, const Decision *) const {
    detail::require_single_step(index, to_string(kind()));
    validate(snapshot);
    Decision decision;
    const OwnFunctions own = own_functions(snapshot, decision.warnings);
    decision.messages.push_back(
        {std::nullopt, NmsNodeInfo{snapshot.node_type, snapshot.thresholds, own.names}});
    const auto common = common_neighbours(snapshot, own.names);

    NmsReport report;
    report.load = own.load;
    report.common_neighbours = common.size();
    try {
        report.prediction = forecaster_->predict(own.load, snapshot.node_type);
    } catch (const std::exception &error) {
        // Without a forecast this node can take nothing: tell its neighbours so.
        if (!common.empty()) decision.messages.push_back({std::nullopt, NmsMargin{}});
        fall_back(decision, own, error);
        decision.nms = std::move(report);
        return decision;
    }
    report.usage_percent = usage_percent(report.prediction, snapshot.thresholds);
    report.overloaded = exceeds(report.prediction, snapshot.thresholds);
    if (!report.overloaded && !common.empty())
        report.margin = (100.0 - report.usage_percent) / static_cast<double>(common.size());
    if (!common.empty())
        decision.messages.push_back(
            {std::nullopt, NmsMargin{report.margin, report.margin > 0.0 ? own.load : GroupLoad{}}});

    try {
        auto targets = offload_targets(snapshot, own, common, *forecaster_);
        const OffloadResult result =
            offload(snapshot, own, std::move(targets), report.overloaded, *forecaster_);
        if (result.step_limit_reached)
            decision.warnings.push_back("node margin: stopped after " +
                                        std::to_string(kNmsMaxIterations) +
                                        " iterations; forecasts do not react to moved load");
        report.still_overloaded = result.still_overloaded;
        report.accepted_steps = result.accepted_steps;
        report.step_limit_reached = result.step_limit_reached;
        report.kept = result.kept;
        report.forwarded = result.forwarded;
        decision.policies = offload_policies(snapshot, own, result);
    } catch (const std::exception &error) {
        fall_back(decision, own, error);
    }
    decision.nms = std::move(report);
    return decision;
}

}  // namespace dfaas::strategy
