#include "dfaas/strategy/json.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>

#include "dfaas/strategy/error.h"

namespace dfaas::strategy {

namespace {

// A JSON value and its path from the document root, so every error names where it is.
class Reader {
  public:
    Reader(const Json &json, std::string path) : json_(&json), path_(std::move(path)) {}

    [[noreturn]] void fail(const std::string &what) const { throw Error(path_ + ": " + what); }

    void require_object() const {
        if (!json_->is_object()) fail("expected an object");
    }

    Reader at(const std::string &key) const {
        if (auto value = optional(key)) return *value;
        Reader(*json_, path_ + "." + key).fail("missing");
    }

    std::optional<Reader> optional(const std::string &key) const {
        require_object();
        auto found = json_->find(key);
        if (found == json_->end() || found->is_null()) return std::nullopt;
        return Reader(*found, path_ + "." + key);
    }

    std::vector<Reader> elements() const {
        if (!json_->is_array()) fail("expected an array");
        std::vector<Reader> result;
        for (size_t i = 0; i < json_->size(); ++i)
            result.emplace_back((*json_)[i], path_ + "[" + std::to_string(i) + "]");
        return result;
    }

    std::vector<std::pair<std::string, Reader>> members() const {
        require_object();
        std::vector<std::pair<std::string, Reader>> result;
        for (auto item = json_->begin(); item != json_->end(); ++item)
            result.emplace_back(item.key(), Reader(item.value(), path_ + "['" + item.key() + "']"));
        return result;
    }

    double number() const {
        if (!json_->is_number()) fail("expected a number");
        const double value = json_->get<double>();
        if (!std::isfinite(value)) fail("expected a finite number");
        return value;
    }

    double non_negative() const {
        const double value = number();
        if (value < 0.0) fail("expected a number >= 0, got " + json_->dump());
        return value;
    }

    int64_t integer() const {
        if (json_->is_number_unsigned()) {
            const auto value = json_->get<uint64_t>();
            if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
                fail("integer out of range");
            return static_cast<int64_t>(value);
        }
        if (!json_->is_number_integer()) fail("expected an integer");
        return json_->get<int64_t>();
    }

    uint64_t unsigned_at_most(uint64_t max) const {
        const int64_t value = integer();
        if (value < 0 || static_cast<uint64_t>(value) > max)
            fail("expected an integer in 0.." + std::to_string(max) + ", got " +
                 std::to_string(value));
        return static_cast<uint64_t>(value);
    }

    const std::string &path() const { return path_; }
    const Json &raw() const { return *json_; }

    bool is_string() const { return json_->is_string(); }

    bool boolean() const {
        if (!json_->is_boolean()) fail("expected true or false");
        return json_->get<bool>();
    }

    std::string string() const {
        if (!json_->is_string()) fail("expected a string");
        return json_->get<std::string>();
    }

    std::vector<std::string> strings() const {
        std::vector<std::string> result;
        for (const auto &element : elements())
            result.push_back(element.string());
        return result;
    }

    std::map<std::string, double> non_negative_numbers() const {
        std::map<std::string, double> result;
        for (const auto &[key, value] : members())
            result[key] = value.non_negative();
        return result;
    }

  private:
    const Json *json_;
    std::string path_;
};

// Reruns a core validation and prefixes its message with the JSON path.
template <class Check>
void validated(const Reader &reader, Check &&check) {
    try {
        check();
    } catch (const Error &error) {
        reader.fail(error.what());
    }
}

int64_t millis_of(Instant instant) {
    return instant.time_since_epoch().count();
}

Instant instant_from(const Reader &reader) {
    return Instant{Millis{reader.integer()}};
}

NodeType node_type_from(const Reader &reader) {
    std::optional<NodeType> type;
    if (reader.is_string())
        type = parse_node_type(reader.string());
    else
        type = parse_node_type(std::to_string(reader.integer()));
    if (!type) reader.fail("expected heavy, mid, light or 0, 1, 2");
    return *type;
}

Json thresholds_to_json(const Thresholds &thresholds) {
    return {{"cpu", thresholds.cpu}, {"ram", thresholds.ram}, {"power", thresholds.power}};
}

Thresholds thresholds_from(const Reader &reader) {
    Thresholds thresholds;
    thresholds.cpu = reader.at("cpu").number();
    thresholds.ram = reader.at("ram").number();
    thresholds.power = reader.at("power").number();
    validated(reader, [&] { validate(NmsNodeInfo{NodeType::Mid, thresholds, {}}); });
    return thresholds;
}

Json group_load_to_json(const GroupLoad &load) {
    Json json = Json::object();
    for (Group group : {Group::High, Group::Low, Group::Medium})
        json[std::string(to_string(group))] = load[group];
    return json;
}

GroupLoad group_load_from(const Reader &reader) {
    GroupLoad load;
    for (const auto &[key, value] : reader.members()) {
        const auto group = parse_function_group(key);
        if (!group) value.fail("unknown group (expected HIGH_USAGE, LOW_USAGE or MEDIUM_USAGE)");
        load[*group] = value.non_negative();
    }
    return load;
}

Json weights_to_json(const std::map<Ipv4, uint32_t> &weights) {
    Json json = Json::object();
    for (const auto &[address, weight] : weights)
        json[address.str()] = weight;
    return json;
}

std::map<Ipv4, uint32_t> weights_from(const Reader &reader) {
    std::map<Ipv4, uint32_t> weights;
    for (const auto &[key, value] : reader.members()) {
        const auto address = Ipv4::parse(key);
        if (!address) value.fail("not an IPv4 address");
        weights[*address] = static_cast<uint32_t>(value.unsigned_at_most(UINT32_MAX));
    }
    return weights;
}

FunctionPolicy policy_from(const Reader &reader) {
    reader.require_object();
    FunctionPolicy policy;
    if (auto local = reader.optional("local"))
        policy.local = static_cast<uint32_t>(local->unsigned_at_most(kMaxWeight));
    if (auto reject = reader.optional("reject"))
        policy.reject = static_cast<uint32_t>(reject->unsigned_at_most(kMaxWeight));
    if (auto peers = reader.optional("peers")) policy.peers = weights_from(*peers);
    if (auto cap = reader.optional("local_cap"))
        policy.local_cap = static_cast<uint32_t>(cap->unsigned_at_most(UINT32_MAX));
    if (auto overflow = reader.optional("overflow")) policy.overflow = weights_from(*overflow);
    if (auto limit_in = reader.optional("limit_in")) policy.limit_in = weights_from(*limit_in);
    if (auto problem = policy.validate()) reader.fail(*problem);
    return policy;
}

PolicySet policy_set_from(const Reader &reader) {
    PolicySet policies;
    for (const auto &[name, value] : reader.members())
        policies[name] = policy_from(value);
    return policies;
}

PeerMessage message_from(const Reader &reader) {
    const std::string type = reader.at("type").string();
    PeerMessage message;
    if (type == "recalc_limits") {
        message = RecalcLimits{reader.at("limits").non_negative_numbers()};
    } else if (type == "nms_node_info") {
        message =
            NmsNodeInfo{node_type_from(reader.at("node_type")),
                        thresholds_from(reader.at("thresholds")), reader.at("functions").strings()};
    } else if (type == "nms_margin") {
        message = NmsMargin{reader.at("margin").non_negative(), group_load_from(reader.at("load"))};
    } else if (type == "static_info") {
        message = StaticInfo{reader.at("functions").strings()};
    } else {
        reader.at("type").fail(
            "unknown message type '" + type +
            "' (expected recalc_limits, nms_node_info, nms_margin, static_info)");
    }
    validated(reader, [&] { validate(message); });
    return message;
}

Json received_json(Instant at, Json body) {
    body["received_ms"] = millis_of(at);
    return body;
}

Instant received_from(const Reader &reader, Instant fallback) {
    if (auto at = reader.optional("received_ms")) return instant_from(*at);
    return fallback;
}

Json peer_entry_to_json(const PeerEntry &entry) {
    Json json{{"id", entry.id},
              {"address", entry.address.str()},
              {"last_seen_ms", millis_of(entry.last_seen)},
              {"unreachable", entry.unreachable},
              {"functions", entry.member_functions}};
    if (const auto &limits = entry.recalc_limit_out)
        json["recalc_limit_out"] = received_json(limits->at, {{"limits", limits->value}});
    if (const auto &info = entry.nms_info) {
        Json body = message_to_json(info->value);
        body.erase("type");
        json["nms_info"] = received_json(info->at, std::move(body));
    }
    if (const auto &margin = entry.nms_margin) {
        Json body = message_to_json(margin->value);
        body.erase("type");
        json["nms_margin"] = received_json(margin->at, std::move(body));
    }
    if (const auto &info = entry.static_info)
        json["static_info"] = received_json(info->at, {{"functions", info->value.functions}});
    return json;
}

// Reads a stored strategy message body (the message JSON without its "type").
template <class Message>
std::optional<Received<Message>> received_message(const Reader &entry, const std::string &key,
                                                  std::string_view type, Instant fallback) {
    auto body = entry.optional(key);
    if (!body) return std::nullopt;
    body->require_object();
    Json typed = body->raw();
    typed["type"] = type;
    const PeerMessage message = message_from(Reader(typed, body->path()));
    return Received<Message>{std::get<Message>(message), received_from(*body, fallback)};
}

}  // namespace

namespace {

PeerEntry peer_entry_from(const Reader &reader) {
    PeerEntry entry;
    entry.id = reader.at("id").string();
    const auto address = Ipv4::parse(reader.at("address").string());
    if (!address) reader.at("address").fail("not an IPv4 address");
    entry.address = *address;
    if (auto seen = reader.optional("last_seen_ms")) entry.last_seen = instant_from(*seen);
    if (auto unreachable = reader.optional("unreachable"))
        entry.unreachable = unreachable->boolean();
    if (auto functions = reader.optional("functions"))
        entry.member_functions = functions->strings();
    std::sort(entry.member_functions.begin(), entry.member_functions.end());
    if (auto limits = reader.optional("recalc_limit_out")) {
        entry.recalc_limit_out = Received<std::map<std::string, double>>{
            limits->at("limits").non_negative_numbers(), received_from(*limits, entry.last_seen)};
    }
    entry.nms_info =
        received_message<NmsNodeInfo>(reader, "nms_info", "nms_node_info", entry.last_seen);
    if (entry.nms_info) {
        auto &functions = entry.nms_info->value.functions;
        std::sort(functions.begin(), functions.end());
    }
    entry.nms_margin =
        received_message<NmsMargin>(reader, "nms_margin", "nms_margin", entry.last_seen);
    entry.static_info =
        received_message<StaticInfo>(reader, "static_info", "static_info", entry.last_seen);
    if (entry.static_info) {
        auto &functions = entry.static_info->value.functions;
        std::sort(functions.begin(), functions.end());
    }
    return entry;
}

PeerTable peer_table_from(const Reader &reader, const std::string &self_id, Millis default_ttl) {
    std::string self = self_id;
    if (auto given = reader.optional("self_id")) {
        self = given->string();
        if (!self_id.empty() && self != self_id)
            given->fail("the table belongs to '" + self + "', not to '" + self_id + "'");
    }
    Millis ttl = default_ttl;
    if (auto given = reader.optional("ttl_ms")) ttl = Millis{given->integer()};
    std::vector<PeerEntry> entries;
    if (auto list = reader.optional("entries"))
        for (const auto &element : list->elements())
            entries.push_back(peer_entry_from(element));
    std::optional<PeerTable> table;
    validated(reader, [&] { table.emplace(self, ttl, std::move(entries)); });
    return std::move(*table);
}

Json window_to_json(const NodeWindow &window) {
    Json peers = Json::object();
    for (const auto &[id, peer] : window.peers)
        peers[id] = {{"forwarded_rate", peer.forwarded_rate},
                     {"forwarded_rejected_rate", peer.forwarded_rejected_rate},
                     {"avg_response_time_ms", peer.avg_response_time_ms}};
    return {{"input_rate", window.input_rate},
            {"reject_rate", window.reject_rate},
            {"avg_response_time_local_ms", window.avg_response_time_local_ms},
            {"cpu_utilization", window.cpu_utilization},
            {"replicas", window.replicas},
            {"peers", std::move(peers)}};
}

void read_non_negative(const Reader &reader, const std::string &key, double &target) {
    if (auto value = reader.optional(key)) target = value->non_negative();
}

NodeWindow window_from(const Reader &reader) {
    NodeWindow window;
    read_non_negative(reader, "input_rate", window.input_rate);
    read_non_negative(reader, "reject_rate", window.reject_rate);
    read_non_negative(reader, "avg_response_time_local_ms", window.avg_response_time_local_ms);
    read_non_negative(reader, "cpu_utilization", window.cpu_utilization);
    read_non_negative(reader, "replicas", window.replicas);
    if (auto peers = reader.optional("peers")) {
        for (const auto &[id, value] : peers->members()) {
            PeerWindow &peer = window.peers[id];
            read_non_negative(value, "forwarded_rate", peer.forwarded_rate);
            read_non_negative(value, "forwarded_rejected_rate", peer.forwarded_rejected_rate);
            read_non_negative(value, "avg_response_time_ms", peer.avg_response_time_ms);
        }
    }
    return window;
}

Json action_to_json(const ExternalAction &action) {
    return {{"local", action.local}, {"reject", action.reject}, {"peers", action.peers}};
}

double proportion_from(const Reader &reader) {
    const double value = reader.non_negative();
    if (value > 1.0) reader.fail("expected a proportion in 0..1, got " + std::to_string(value));
    return value;
}

ExternalAction action_from(const Reader &reader) {
    ExternalAction action;
    action.local = proportion_from(reader.at("local"));
    action.reject = proportion_from(reader.at("reject"));
    if (auto peers = reader.optional("peers"))
        for (const auto &[id, value] : peers->members())
            action.peers[id] = proportion_from(value);
    return action;
}

LocalFunction function_from(const Reader &reader) {
    LocalFunction function;
    function.name = reader.at("name").string();
    if (function.name.empty()) reader.at("name").fail("empty function name");
    if (auto port = reader.optional("port"))
        function.port = static_cast<uint16_t>(port->unsigned_at_most(UINT16_MAX));
    if (auto labels = reader.optional("labels"))
        for (const auto &[key, value] : labels->members())
            function.labels[key] = value.string();
    return function;
}

Json plan_to_json(const RecalcPlan &plan) {
    return {{"max_rate", plan.max_rate},
            {"overloaded", plan.overloaded},
            {"unmanaged", plan.unmanaged},
            {"limit_in", plan.limit_in}};
}

RecalcPlan plan_from(const Reader &reader) {
    RecalcPlan plan;
    for (const auto &[name, value] : reader.at("max_rate").members())
        plan.max_rate[name] = static_cast<uint32_t>(value.unsigned_at_most(UINT32_MAX));
    for (const auto &name : reader.at("overloaded").strings())
        plan.overloaded.insert(name);
    plan.unmanaged = reader.at("unmanaged").strings();
    for (const auto &[peer, limits] : reader.at("limit_in").members())
        for (const auto &[name, value] : limits.members())
            plan.limit_in[peer][name] = static_cast<uint32_t>(value.unsigned_at_most(UINT32_MAX));
    return plan;
}

Json prediction_to_json(const Prediction &prediction) {
    return {{"cpu", prediction.cpu}, {"ram", prediction.ram}, {"power", prediction.power}};
}

Json report_to_json(const NmsReport &report) {
    return {{"load", group_load_to_json(report.load)},
            {"prediction", prediction_to_json(report.prediction)},
            {"usage_percent", report.usage_percent},
            {"overloaded", report.overloaded},
            {"still_overloaded", report.still_overloaded},
            {"margin", report.margin},
            {"common_neighbours", report.common_neighbours},
            {"accepted_steps", report.accepted_steps},
            {"step_limit_reached", report.step_limit_reached},
            {"kept", report.kept},
            {"forwarded", report.forwarded}};
}

NmsReport report_from(const Reader &reader) {
    NmsReport report;
    report.load = group_load_from(reader.at("load"));
    const Reader prediction = reader.at("prediction");
    report.prediction = {prediction.at("cpu").number(), prediction.at("ram").number(),
                         prediction.at("power").number()};
    report.usage_percent = reader.at("usage_percent").number();
    report.overloaded = reader.at("overloaded").boolean();
    report.still_overloaded = reader.at("still_overloaded").boolean();
    report.margin = reader.at("margin").non_negative();
    report.common_neighbours = reader.at("common_neighbours").unsigned_at_most(SIZE_MAX);
    report.accepted_steps = reader.at("accepted_steps").unsigned_at_most(SIZE_MAX);
    report.step_limit_reached = reader.at("step_limit_reached").boolean();
    report.kept = reader.at("kept").non_negative_numbers();
    for (const auto &[peer, moved] : reader.at("forwarded").members())
        report.forwarded[peer] = moved.non_negative_numbers();
    return report;
}

GroupTable group_table_from(const Reader &reader) {
    GroupTable groups;
    for (const auto &[key, names] : reader.members()) {
        const auto group = parse_function_group(key);
        if (!group) names.fail("unknown group (expected HIGH_USAGE, LOW_USAGE or MEDIUM_USAGE)");
        for (const auto &name : names.strings())
            if (!groups.emplace(name, *group).second)
                names.fail("function '" + name + "' is in two groups");
    }
    return groups;
}

std::optional<std::string> optional_string(const Reader &reader, const std::string &key) {
    if (auto value = reader.optional(key)) return value->string();
    return std::nullopt;
}

}  // namespace

Json policy_to_json(const FunctionPolicy &policy) {
    return {{"local", policy.local},
            {"reject", policy.reject},
            {"peers", weights_to_json(policy.peers)},
            {"local_cap", policy.local_cap},
            {"overflow", weights_to_json(policy.overflow)},
            {"limit_in", weights_to_json(policy.limit_in)}};
}

FunctionPolicy policy_from_json(const Json &json) {
    return policy_from(Reader(json, "policy"));
}

Json policy_set_to_json(const PolicySet &policies) {
    Json json = Json::object();
    for (const auto &[name, policy] : policies)
        json[name] = policy_to_json(policy);
    return json;
}

PolicySet policy_set_from_json(const Json &json) {
    return policy_set_from(Reader(json, "policies"));
}

Json message_to_json(const PeerMessage &message) {
    Json json{{"type", message_type(message)}};
    if (const auto *limits = std::get_if<RecalcLimits>(&message)) {
        json["limits"] = limits->limits;
    } else if (const auto *info = std::get_if<NmsNodeInfo>(&message)) {
        json["node_type"] = to_string(info->node_type);
        json["thresholds"] = thresholds_to_json(info->thresholds);
        json["functions"] = info->functions;
    } else if (const auto *margin = std::get_if<NmsMargin>(&message)) {
        json["margin"] = margin->margin;
        json["load"] = group_load_to_json(margin->load);
    } else if (const auto *info_static = std::get_if<StaticInfo>(&message)) {
        json["functions"] = info_static->functions;
    }
    return json;
}

PeerMessage message_from_json(const Json &json) {
    return message_from(Reader(json, "message"));
}

Json outgoing_to_json(const OutgoingMessage &message) {
    return {{"to", message.to ? Json(*message.to) : Json(nullptr)},
            {"message", message_to_json(message.body)}};
}

OutgoingMessage outgoing_from_json(const Json &json) {
    const Reader reader(json, "outgoing");
    return {optional_string(reader, "to"), message_from(reader.at("message"))};
}

Json group_table_to_json(const GroupTable &groups) {
    Json json = Json::object();
    for (Group group : {Group::High, Group::Low, Group::Medium})
        json[std::string(to_string(group))] = Json::array();
    for (const auto &[name, group] : groups)
        json[std::string(to_string(group))].push_back(name);
    return json;
}

GroupTable group_table_from_json(const Json &json) {
    return group_table_from(Reader(json, "groups"));
}

Json peer_table_to_json(const PeerTable &table) {
    Json entries = Json::array();
    for (const auto &[id, entry] : table.entries())
        entries.push_back(peer_entry_to_json(entry));
    return {{"self_id", table.self_id()},
            {"ttl_ms", table.ttl().count()},
            {"entries", std::move(entries)}};
}

PeerTable peer_table_from_json(const Json &json) {
    const Reader reader(json, "peer_table");
    reader.at("self_id");
    reader.at("ttl_ms");
    return peer_table_from(reader, "", Millis{0});
}

Json snapshot_to_json(const Snapshot &snapshot) {
    Json functions = Json::array();
    for (const auto &function : snapshot.functions)
        functions.push_back(
            {{"name", function.name}, {"port", function.port}, {"labels", function.labels}});
    return {{"node_id", snapshot.node_id},
            {"node_type", to_string(snapshot.node_type)},
            {"thresholds", thresholds_to_json(snapshot.thresholds)},
            {"period_ms", snapshot.period.count()},
            {"now_ms", millis_of(snapshot.now)},
            {"functions", std::move(functions)},
            {"user_rates", snapshot.user_rates},
            {"groups", group_table_to_json(snapshot.groups)},
            {"peers", peer_table_to_json(snapshot.peers)},
            {"external",
             {{"current", window_to_json(snapshot.external.current)},
              {"previous", window_to_json(snapshot.external.previous)},
              {"action", snapshot.external.action ? action_to_json(*snapshot.external.action)
                                                  : Json(nullptr)}}},
            {"recalc", {{"standby_overflow", snapshot.recalc.standby_overflow}}}};
}

Snapshot snapshot_from_json(const Json &json) {
    const Reader reader(json, "snapshot");
    Snapshot snapshot;
    snapshot.node_id = reader.at("node_id").string();
    if (snapshot.node_id.empty()) reader.at("node_id").fail("empty node id");
    if (auto type = reader.optional("node_type")) snapshot.node_type = node_type_from(*type);
    if (auto thresholds = reader.optional("thresholds"))
        snapshot.thresholds = thresholds_from(*thresholds);
    if (auto period = reader.optional("period_ms")) {
        snapshot.period = Millis{period->integer()};
        if (snapshot.period <= Millis{0}) period->fail("the period must be positive");
    }
    if (auto now = reader.optional("now_ms")) snapshot.now = instant_from(*now);
    if (auto functions = reader.optional("functions"))
        for (const auto &element : functions->elements())
            snapshot.functions.push_back(function_from(element));
    if (auto rates = reader.optional("user_rates"))
        snapshot.user_rates = rates->non_negative_numbers();
    if (auto groups = reader.optional("groups")) snapshot.groups = group_table_from(*groups);
    if (auto peers = reader.optional("peers"))
        snapshot.peers = peer_table_from(*peers, snapshot.node_id, 2 * snapshot.period);
    else
        snapshot.peers = PeerTable(snapshot.node_id, 2 * snapshot.period);
    if (auto external = reader.optional("external")) {
        if (auto current = external->optional("current"))
            snapshot.external.current = window_from(*current);
        if (auto previous = external->optional("previous"))
            snapshot.external.previous = window_from(*previous);
        if (auto action = external->optional("action"))
            snapshot.external.action = action_from(*action);
    }
    if (auto recalc = reader.optional("recalc"))
        if (auto standby = recalc->optional("standby_overflow"))
            snapshot.recalc.standby_overflow = standby->boolean();
    validated(reader, [&] { validate(snapshot); });
    return snapshot;
}

Json decision_to_json(const Decision &decision) {
    Json messages = Json::array();
    for (const auto &message : decision.messages)
        messages.push_back(outgoing_to_json(message));
    return {
        {"policies", decision.policies ? policy_set_to_json(*decision.policies) : Json(nullptr)},
        {"messages", std::move(messages)},
        {"warnings", decision.warnings},
        {"degraded", decision.degraded ? Json(*decision.degraded) : Json(nullptr)},
        {"recalc_plan", decision.recalc_plan ? plan_to_json(*decision.recalc_plan) : Json(nullptr)},
        {"nms", decision.nms ? report_to_json(*decision.nms) : Json(nullptr)}};
}

Decision decision_from_json(const Json &json) {
    const Reader reader(json, "decision");
    reader.require_object();
    Decision decision;
    if (auto policies = reader.optional("policies")) decision.policies = policy_set_from(*policies);
    if (auto messages = reader.optional("messages")) {
        for (const auto &element : messages->elements())
            decision.messages.push_back(
                {optional_string(element, "to"), message_from(element.at("message"))});
    }
    if (auto warnings = reader.optional("warnings")) decision.warnings = warnings->strings();
    decision.degraded = optional_string(reader, "degraded");
    if (auto plan = reader.optional("recalc_plan")) decision.recalc_plan = plan_from(*plan);
    if (auto report = reader.optional("nms")) decision.nms = report_from(*report);
    return decision;
}

Json observation_to_json(const Observation &observation) {
    Json fields = Json::object();
    for (const auto &[key, value] : observation.fields)
        fields[key] = value;
    return {{"observation", {{observation.node_key, std::move(fields)}}},
            {"agent_parameters", {{"explore", observation.explore}}}};
}

ExternalAction external_answer_from_json(const Json &json, std::string_view node_id) {
    const std::string me = model_node_key(node_id);
    const Reader answer = Reader(json, "answer").at(me);
    ExternalAction action;
    action.local = proportion_from(answer.at("local"));
    action.reject = proportion_from(answer.at("reject"));
    const std::string prefix = model_node_key("");
    double total = action.local + action.reject;
    for (const auto &[key, value] : answer.members()) {
        if (key == "local" || key == "reject") continue;
        if (key.size() <= prefix.size() || key.compare(0, prefix.size(), prefix) != 0)
            value.fail("unexpected key (expected local, reject or node_<peer id>)");
        const std::string peer = key.substr(prefix.size());
        if (peer == node_id) value.fail("this node named as a peer");
        action.peers[peer] = proportion_from(value);
        total += action.peers[peer];
    }
    if (total <= 0.0) answer.fail("every proportion is 0");
    return action;
}

void to_json(Json &json, const Snapshot &snapshot) {
    json = snapshot_to_json(snapshot);
}
void from_json(const Json &json, Snapshot &snapshot) {
    snapshot = snapshot_from_json(json);
}
void to_json(Json &json, const Decision &decision) {
    json = decision_to_json(decision);
}
void from_json(const Json &json, Decision &decision) {
    decision = decision_from_json(json);
}
void to_json(Json &json, const PeerTable &table) {
    json = peer_table_to_json(table);
}
void from_json(const Json &json, PeerTable &table) {
    table = peer_table_from_json(json);
}
void to_json(Json &json, const OutgoingMessage &message) {
    json = outgoing_to_json(message);
}
void from_json(const Json &json, OutgoingMessage &message) {
    message = outgoing_from_json(json);
}

}  // namespace dfaas::strategy
