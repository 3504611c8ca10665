#include "whatif_simulate.h"

#include <algorithm>
#include <cmath>

#include "dfaas/forecast/native_forecaster.h"
#include "dfaas/strategy/error.h"
#include "dfaas/strategy/json.h"

namespace dfaas::cli::whatif {

namespace {

using nlohmann::json;
using strategy::Error;
using strategy::Instant;
using strategy::Millis;
using strategy::Snapshot;

constexpr const char *kStrategyKey = "strategy";
constexpr const char *kForecasterKey = "forecaster";
constexpr const char *kAddressKey = "address";

std::string in_quotes(const std::string &text) {
    return "'" + text + "'";
}

// "snapshot.functions[0]: …" from the library becomes "<root>.functions[0]: …".
std::string with_root(const std::string &message, const std::string &root) {
    const std::string library_root = "snapshot";
    if (root == library_root || message.rfind(library_root, 0) != 0) return message;
    return root + message.substr(library_root.size());
}

const json *member(const json &object, const char *key) {
    const auto found = object.find(key);
    if (found == object.end() || found->is_null()) return nullptr;
    return &*found;
}

// The period a snapshot document asks for, to pick the default TTL (the library reports an
// invalid period itself).
Millis period_of(const json &document) {
    const json *period = member(document, "period_ms");
    if (period != nullptr && period->is_number_integer() && period->get<int64_t>() > 0)
        return Millis{period->get<int64_t>()};
    return Snapshot{}.period;
}

double finite_non_negative(const json &value, const std::string &path) {
    if (!value.is_number()) throw Error(path + ": expected a number, got " + value.dump());
    const double number = value.get<double>();
    if (!std::isfinite(number) || number < 0.0)
        throw Error(path + ": expected a finite number >= 0, got " + value.dump());
    return number;
}

PeriodInput period_input_from(const json &value, const std::string &path,
                              const std::map<std::string, const Snapshot *> &nodes) {
    if (!value.is_object()) throw Error(path + ": expected an object");
    PeriodInput input;
    for (const auto &[key, item] : value.items()) {
        const std::string item_path = path + "." + key;
        if (key == "user_rates") {
            if (!item.is_object()) throw Error(item_path + ": expected an object of nodes");
            for (const auto &[node_id, rates] : item.items()) {
                const std::string node_path = item_path + "['" + node_id + "']";
                const auto node = nodes.find(node_id);
                if (node == nodes.end()) throw Error(node_path + ": no node " + in_quotes(node_id));
                if (!rates.is_object()) throw Error(node_path + ": expected an object of rates");
                const auto names = strategy::local_function_names(*node->second);
                for (const auto &[function, rate] : rates.items()) {
                    const std::string rate_path = node_path + "['" + function + "']";
                    if (!std::binary_search(names.begin(), names.end(), function))
                        throw Error(rate_path + ": " + node_id + " has no function " +
                                    in_quotes(function));
                    input.user_rates[node_id][function] = finite_non_negative(rate, rate_path);
                }
            }
        } else if (key == "down") {
            if (!item.is_array()) throw Error(item_path + ": expected an array of node ids");
            input.down.emplace();
            for (size_t i = 0; i < item.size(); ++i) {
                const std::string id_path = item_path + "[" + std::to_string(i) + "]";
                if (!item[i].is_string()) throw Error(id_path + ": expected a node id");
                const std::string id = item[i].get<std::string>();
                if (!nodes.count(id)) throw Error(id_path + ": no node " + in_quotes(id));
                input.down->insert(id);
            }
        } else {
            throw Error(item_path + ": unknown key (expected user_rates, down)");
        }
    }
    return input;
}

}  // namespace

bool is_federation(const json &document) {
    return document.is_object() && document.contains("nodes");
}

RunSettings run_settings_from(const json &document, const std::filesystem::path &file) {
    if (!document.is_object()) throw Error("expected a JSON object, got " + document.dump());
    RunSettings settings;
    if (const json *name = member(document, kStrategyKey)) {
        if (!name->is_string()) throw Error("strategy: expected a strategy name");
        settings.strategy = name->get<std::string>();
    }
    if (const json *forecaster = member(document, kForecasterKey)) {
        if (!forecaster->is_object()) throw Error("forecaster: expected an object");
        for (const auto &[key, value] : forecaster->items()) {
            const std::string path = std::string(kForecasterKey) + "." + key;
            if (value.is_null()) continue;
            if (!value.is_string()) throw Error(path + ": expected a string");
            const std::string text = value.get<std::string>();
            if (key == "models_dir") {
                if (text.empty()) throw Error(path + ": empty path");
                std::filesystem::path directory = text;
                if (directory.is_relative()) directory = file.parent_path() / directory;
                settings.forecaster.models_dir = directory.lexically_normal();
            } else if (key == "variant") {
                try {
                    forecast::parse_variant(text);
                } catch (const Error &e) {
                    throw Error(path + ": " + e.what());
                }
                settings.forecaster.variant = text;
            } else {
                throw Error(path + ": unknown key (expected models_dir, variant)");
            }
        }
    }
    return settings;
}

Snapshot snapshot_from_document(const json &document, StrategyKind kind, const std::string &root) {
    if (!document.is_object()) throw Error(root + ": expected an object");
    json library_form = document;
    library_form.erase(kStrategyKey);
    library_form.erase(kForecasterKey);
    const int64_t ttl = strategy::peer_ttl(kind, period_of(library_form)).count();
    json &peers = library_form["peers"];
    if (peers.is_null()) peers = json::object();
    if (peers.is_object() && member(peers, "ttl_ms") == nullptr) peers["ttl_ms"] = ttl;
    try {
        return strategy::snapshot_from_json(library_form);
    } catch (const Error &e) {
        throw Error(with_root(e.what(), root));
    }
}

Federation federation_from_document(const json &document, StrategyKind kind) {
    if (!document.is_object()) throw Error("expected a JSON object");
    for (const auto &[key, value] : document.items())
        if (key != kStrategyKey && key != kForecasterKey && key != "defaults" && key != "nodes" &&
            key != "periods")
            throw Error(key +
                        ": unknown key (expected strategy, forecaster, defaults, nodes, periods)");

    json defaults = json::object();
    if (const json *given = member(document, "defaults")) {
        if (!given->is_object()) throw Error("defaults: expected an object of snapshot keys");
        for (const char *key : {"node_id", kAddressKey, kStrategyKey, kForecasterKey})
            if (given->contains(key))
                throw Error(std::string("defaults.") + key +
                            ": not a default (set it per node or at the top level)");
        defaults = *given;
    }

    const json &nodes = document.at("nodes");
    if (!nodes.is_array() || nodes.empty())
        throw Error("nodes: expected a non-empty array of node snapshots");
    Federation federation;
    std::set<Ipv4> addresses;
    std::map<std::string, std::string> paths;  // node id -> its path, for duplicates
    for (size_t i = 0; i < nodes.size(); ++i) {
        const std::string path = "nodes[" + std::to_string(i) + "]";
        const json &node = nodes[i];
        if (!node.is_object()) throw Error(path + ": expected an object (a snapshot and address)");
        for (const char *key : {kStrategyKey, kForecasterKey})
            if (node.contains(key))
                throw Error(path + "." + key +
                            ": set once for the whole federation, at the top level");
        json merged = defaults;
        for (const auto &[key, value] : node.items())
            merged[key] = value;
        const json *address_value = member(merged, kAddressKey);
        if (address_value == nullptr) throw Error(path + ".address: missing");
        if (!address_value->is_string())
            throw Error(path + ".address: expected an IPv4 address string");
        const auto address = Ipv4::parse(address_value->get<std::string>());
        if (!address || address->is_unspecified())
            throw Error(path + ".address: " + address_value->dump() +
                        " is not a usable IPv4 address");
        if (!addresses.insert(*address).second)
            throw Error(path + ".address: " + address->str() + " is used by another node");
        merged.erase(kAddressKey);
        FederationNode simulated{*address, snapshot_from_document(merged, kind, path)};
        const std::string &id = simulated.snapshot.node_id;
        if (!paths.emplace(id, path).second)
            throw Error(path + ".node_id: " + in_quotes(id) + " is also " + paths[id]);
        if (!federation.nodes.empty()) {
            const Snapshot &first = federation.nodes.front().snapshot;
            if (simulated.snapshot.period != first.period)
                throw Error(path + ".period_ms: " +
                            std::to_string(simulated.snapshot.period.count()) + " differs from " +
                            paths[first.node_id] + "'s " + std::to_string(first.period.count()) +
                            " (one period for the whole federation)");
            if (simulated.snapshot.now != first.now)
                throw Error(path + ".now_ms: " +
                            std::to_string(simulated.snapshot.now.time_since_epoch().count()) +
                            " differs from " + paths[first.node_id] + "'s " +
                            std::to_string(first.now.time_since_epoch().count()) +
                            " (every node starts at the same instant)");
        }
        federation.nodes.push_back(std::move(simulated));
    }
    std::sort(federation.nodes.begin(), federation.nodes.end(),
              [](const auto &a, const auto &b) { return a.snapshot.node_id < b.snapshot.node_id; });

    if (const json *periods = member(document, "periods")) {
        if (!periods->is_array()) throw Error("periods: expected an array of period inputs");
        std::map<std::string, const Snapshot *> by_id;
        for (const auto &node : federation.nodes)
            by_id[node.snapshot.node_id] = &node.snapshot;
        for (size_t k = 0; k < periods->size(); ++k)
            federation.periods.push_back(
                period_input_from((*periods)[k], "periods[" + std::to_string(k) + "]", by_id));
    }
    return federation;
}

FederationSimulator::FederationSimulator(Federation federation, const strategy::Strategy &strategy)
    : federation_(std::move(federation)), strategy_(&strategy) {
    if (federation_.nodes.empty()) throw Error("a federation needs at least one node");
    start_ = federation_.nodes.front().snapshot.now;
    period_ = federation_.nodes.front().snapshot.period;
}

PeriodResult FederationSimulator::run_period() {
    const size_t k = next_period_++;
    const Instant t = start_ + period_ * static_cast<int64_t>(k);
    auto &nodes = federation_.nodes;

    if (k < federation_.periods.size()) {
        const PeriodInput &input = federation_.periods[k];
        for (auto &node : nodes) {
            const auto rates = input.user_rates.find(node.snapshot.node_id);
            if (rates == input.user_rates.end()) continue;
            for (const auto &[function, rate] : rates->second)
                node.snapshot.user_rates[function] = rate;
        }
        if (input.down) down_ = *input.down;
    }
    auto up = [&](const FederationNode &node) { return !down_.count(node.snapshot.node_id); };
    std::map<std::string, FederationNode *> by_id;
    for (auto &node : nodes)
        by_id[node.snapshot.node_id] = &node;

    // Membership: every up node hears the hello of every other up node at the period start.
    for (auto &receiver : nodes) {
        if (!up(receiver)) continue;
        for (const auto &sender : nodes)
            if (&sender != &receiver && up(sender))
                receiver.snapshot.peers.record_membership(
                    sender.snapshot.node_id, sender.address,
                    strategy::local_function_names(sender.snapshot), t);
    }

    std::map<std::string, strategy::Decision> merged;
    std::map<std::string, strategy::Decision> previous;
    const auto offsets = strategy_->step_offsets(period_);
    for (size_t i = 0; i < offsets.size(); ++i) {
        const Instant at = t + offsets[i];
        struct Delivery {
            const FederationNode *sender;
            FederationNode *receiver;
            strategy::PeerMessage body;
        };
        std::vector<Delivery> deliveries;
        for (auto &node : nodes) {
            if (!up(node)) continue;
            const std::string &id = node.snapshot.node_id;
            node.snapshot.now = at;
            strategy::Decision decision;
            try {
                decision = strategy_->step(node.snapshot, i, i == 0 ? nullptr : &previous[id]);
            } catch (const Error &e) {
                throw Error("node " + in_quotes(id) + ", period " + std::to_string(k) + ", step " +
                            std::to_string(i + 1) + ": " + e.what());
            }
            for (const auto &message : decision.messages) {
                std::vector<std::string> receivers;
                if (message.to) {
                    receivers.push_back(*message.to);
                } else {
                    for (const auto *peer : node.snapshot.peers.live(at))
                        receivers.push_back(peer->id);
                }
                for (const auto &receiver : receivers) {
                    const auto found = by_id.find(receiver);
                    if (found == by_id.end() || !up(*found->second)) continue;  // not simulated
                    deliveries.push_back({&node, found->second, message.body});
                }
            }
            strategy::merge_step(merged[id], strategy::Decision(decision));
            previous[id] = std::move(decision);
        }
        for (const auto &delivery : deliveries) {
            try {
                delivery.receiver->snapshot.peers.apply(
                    delivery.sender->snapshot.node_id, delivery.sender->address, delivery.body, at);
            } catch (const Error &e) {
                throw Error("node " + in_quotes(delivery.receiver->snapshot.node_id) + ", period " +
                            std::to_string(k) + ": message from " +
                            in_quotes(delivery.sender->snapshot.node_id) + ": " + e.what());
            }
        }
    }

    PeriodResult result;
    result.index = k;
    result.start = t;
    for (const auto &node : nodes) {
        const std::string &id = node.snapshot.node_id;
        NodePeriod &out = result.nodes[id];
        out.up = up(node);
        out.user_rates = node.snapshot.user_rates;
        if (out.up) {
            out.decision = std::move(merged[id]);
            if (out.decision.policies) installed_[id] = *out.decision.policies;
        }
        const auto installed = installed_.find(id);
        if (installed != installed_.end())
            out.decision.policies = installed->second;
        else
            out.decision.policies.reset();
    }
    return result;
}

PeerNames peer_names(const strategy::PeerTable &table) {
    PeerNames names;
    for (const auto &[id, entry] : table.entries())
        names.emplace(entry.address, id);
    return names;
}

PeerNames peer_names(const Federation &federation) {
    PeerNames names;
    for (const auto &node : federation.nodes)
        names.emplace(node.address, node.snapshot.node_id);
    return names;
}

}  // namespace dfaas::cli::whatif
