#include "dfaas/peers/envelope.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "dfaas/strategy/error.h"
#include "dfaas/strategy/json.h"
#include "dfaas/json_depth.h"

namespace dfaas::peers {

namespace {

using Json = nlohmann::json;

constexpr int64_t kMaxPeriodMs = 24LL * 3600 * 1000;
constexpr size_t kMaxStrategyName = 64;

// Thrown inside the decoder only; decode_envelope() turns it into a Rejection.
struct DecodeFailure {
    RejectReason reason;
    std::string detail;
};

[[noreturn]] void fail(RejectReason reason, std::string detail) {
    throw DecodeFailure{reason, std::move(detail)};
}

bool is_id_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

bool is_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Quotes received text for a detail: at most 64 characters, control bytes escaped.
std::string quote(std::string_view text) {
    std::string out = "\"";
    for (size_t i = 0; i < text.size() && i < 64; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
            static const char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
    if (text.size() > 64) out += "...";
    return out + "\"";
}

// A JSON value, its path, and the reason its problems are reported under.
class Reader {
  public:
    Reader(const Json &json, std::string path, RejectReason reason)
        : json_(&json), path_(std::move(path)), reason_(reason) {}

    [[noreturn]] void fail_here(const std::string &what) const {
        fail(reason_, path_ + ": " + what);
    }

    const Json &raw() const { return *json_; }
    const std::string &path() const { return path_; }

    void require_object() const {
        if (!json_->is_object()) fail_here("expected an object");
    }

    std::optional<Reader> optional(const char *key) const {
        require_object();
        auto found = json_->find(key);
        if (found == json_->end() || found->is_null()) return std::nullopt;
        return Reader(*found, path_ + "." + key, reason_);
    }

    Reader at(const char *key) const {
        if (auto value = optional(key)) return *value;
        fail(reason_, path_ + "." + key + ": missing");
    }

    std::string string() const {
        if (!json_->is_string()) fail_here("expected a string");
        return json_->get<std::string>();
    }

    int64_t integer(int64_t min, int64_t max) const {
        int64_t value = 0;
        if (json_->is_number_unsigned()) {
            const auto raw = json_->get<uint64_t>();
            if (raw > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
                fail_here("expected an integer in " + std::to_string(min) + ".." +
                          std::to_string(max));
            value = static_cast<int64_t>(raw);
        } else if (json_->is_number_integer()) {
            value = json_->get<int64_t>();
        } else {
            fail_here("expected an integer");
        }
        if (value < min || value > max)
            fail_here("expected an integer in " + std::to_string(min) + ".." + std::to_string(max) +
                      ", got " + std::to_string(value));
        return value;
    }

    uint64_t unsigned_integer(uint64_t min) const {
        if (!json_->is_number_unsigned() && !json_->is_number_integer())
            fail_here("expected an integer");
        if (json_->is_number_integer() && !json_->is_number_unsigned())
            fail_here("expected an integer >= " + std::to_string(min));
        const auto value = json_->get<uint64_t>();
        if (value < min) fail_here("expected an integer >= " + std::to_string(min));
        return value;
    }

    double positive() const {
        if (!json_->is_number()) fail_here("expected a number");
        const double value = json_->get<double>();
        if (!std::isfinite(value) || value <= 0.0)
            fail_here("expected a finite number > 0, got " + json_->dump());
        return value;
    }

    std::vector<Reader> elements(size_t max_count) const {
        if (!json_->is_array()) fail_here("expected an array");
        if (json_->size() > max_count)
            fail_here("at most " + std::to_string(max_count) + " elements, got " +
                      std::to_string(json_->size()));
        std::vector<Reader> result;
        result.reserve(json_->size());
        for (size_t i = 0; i < json_->size(); ++i)
            result.emplace_back((*json_)[i], path_ + "[" + std::to_string(i) + "]", reason_);
        return result;
    }

  private:
    const Json *json_;
    std::string path_;
    RejectReason reason_;
};

std::string peer_id_from(const Reader &reader) {
    std::string id = reader.string();
    if (!is_valid_peer_id(id))
        reader.fail_here(
            "not a node id (1..63 of A-Z a-z 0-9 . _ -, starting with a letter or "
            "digit): " +
            quote(id));
    return id;
}

Ipv4 address_from(const Reader &reader) {
    const std::string text = reader.string();
    const auto address = Ipv4::parse(text);
    if (!address) reader.fail_here("not an IPv4 address: " + quote(text));
    if (address->is_unspecified()) reader.fail_here("0.0.0.0 is not a peer address");
    return *address;
}

uint16_t port_from(const Reader &reader) {
    return static_cast<uint16_t>(reader.integer(1, 65535));
}

// --- validation shared by encoder and decoder -------------------------------------------------

std::optional<std::string> heartbeat_problem(const Heartbeat &heartbeat,
                                             std::string_view sender_id) {
    for (double value :
         {heartbeat.thresholds.cpu, heartbeat.thresholds.ram, heartbeat.thresholds.power})
        if (!std::isfinite(value) || value <= 0.0)
            return "thresholds: every threshold must be a finite number > 0";
    if (heartbeat.strategy.empty() || heartbeat.strategy.size() > kMaxStrategyName ||
        !std::all_of(heartbeat.strategy.begin(), heartbeat.strategy.end(), is_id_char))
        return "strategy: not a strategy name: " + quote(heartbeat.strategy);
    if (heartbeat.period.count() < 1 || heartbeat.period.count() > kMaxPeriodMs)
        return "period_ms: expected 1.." + std::to_string(kMaxPeriodMs) + ", got " +
               std::to_string(heartbeat.period.count());
    if (heartbeat.functions.size() > kMaxFunctions)
        return "functions: more than " + std::to_string(kMaxFunctions);
    std::set<std::string_view> names;
    std::set<uint16_t> ports;
    for (const auto &function : heartbeat.functions) {
        if (!is_valid_function_name(function.name))
            return "functions: not a function name: " + quote(function.name);
        if (function.port == 0) return "functions: '" + function.name + "' has port 0";
        if (!names.insert(function.name).second)
            return "functions: '" + function.name + "' listed twice";
        if (!ports.insert(function.port).second)
            return "functions: port " + std::to_string(function.port) + " used twice";
    }
    if (heartbeat.peers.size() > kMaxGossipPeers)
        return "peers: more than " + std::to_string(kMaxGossipPeers);
    std::set<std::string_view> ids;
    for (const auto &peer : heartbeat.peers) {
        if (!is_valid_peer_id(peer.id)) return "peers: not a node id: " + quote(peer.id);
        if (peer.id == sender_id) return "peers: lists the sender itself";
        if (peer.endpoint.addr.is_unspecified() || peer.endpoint.port == 0)
            return "peers: '" + peer.id + "' has no address or port";
        if (!ids.insert(peer.id).second) return "peers: '" + peer.id + "' listed twice";
    }
    return std::nullopt;
}

std::optional<std::string> names_problem(const std::vector<std::string> &names) {
    if (names.size() > kMaxFunctions)
        return "functions: more than " + std::to_string(kMaxFunctions);
    for (const auto &name : names)
        if (!is_valid_function_name(name)) return "not a function name: " + quote(name);
    return std::nullopt;
}

std::optional<std::string> strategy_problem(const strategy::PeerMessage &message) {
    try {
        strategy::validate(message);
    } catch (const strategy::Error &error) {
        return error.what();
    }
    if (const auto *limits = std::get_if<strategy::RecalcLimits>(&message)) {
        std::vector<std::string> names;
        for (const auto &item : limits->limits)
            names.push_back(item.first);
        return names_problem(names);
    }
    if (const auto *info = std::get_if<strategy::NmsNodeInfo>(&message))
        return names_problem(info->functions);
    if (const auto *info = std::get_if<strategy::StaticInfo>(&message))
        return names_problem(info->functions);
    return std::nullopt;
}

std::optional<std::string> body_problem(const Envelope &envelope) {
    if (const auto *heartbeat = std::get_if<Heartbeat>(&envelope.body))
        return heartbeat_problem(*heartbeat, envelope.sender_id);
    return std::visit(
        [](const auto &message) -> std::optional<std::string> {
            using T = std::decay_t<decltype(message)>;
            if constexpr (std::is_same_v<T, Heartbeat>)
                return std::nullopt;
            else
                return strategy_problem(strategy::PeerMessage{message});
        },
        envelope.body);
}

std::optional<std::string> envelope_problem(const Envelope &envelope) {
    if (!is_valid_peer_id(envelope.sender_id))
        return "sender_id: not a node id: " + quote(envelope.sender_id);
    if (envelope.sender_ip.is_unspecified()) return "sender_ip: 0.0.0.0";
    if (envelope.sender_port == 0) return "sender_port: 0";
    if (envelope.to && !is_valid_peer_id(*envelope.to))
        return "to: not a node id: " + quote(*envelope.to);
    if (envelope.seq == 0) return "seq: must be >= 1";
    const int64_t sent_at = envelope.sent_at.time_since_epoch().count();
    if (sent_at < 0 || sent_at > kMaxTimestampMs)
        return "sent_at: out of range: " + std::to_string(sent_at);
    return std::nullopt;
}

// --- JSON forms -----------------------------------------------------------------------------

Json heartbeat_to_json(const Heartbeat &heartbeat) {
    Json functions = Json::array();
    for (const auto &function : heartbeat.functions) {
        Json entry{{"name", function.name}, {"port", function.port}};
        if (function.remote_only) entry["remote_only"] = true;
        functions.push_back(std::move(entry));
    }
    Json peers = Json::array();
    for (const auto &peer : heartbeat.peers)
        peers.push_back(
            {{"id", peer.id}, {"ip", peer.endpoint.addr.str()}, {"port", peer.endpoint.port}});
    return {{"node_type", to_string(heartbeat.node_type)},
            {"thresholds",
             {{"cpu", heartbeat.thresholds.cpu},
              {"ram", heartbeat.thresholds.ram},
              {"power", heartbeat.thresholds.power}}},
            {"strategy", heartbeat.strategy},
            {"period_ms", heartbeat.period.count()},
            {"functions", std::move(functions)},
            {"peers", std::move(peers)}};
}

Heartbeat heartbeat_from(const Reader &body, std::string_view sender_id) {
    body.require_object();
    Heartbeat heartbeat;
    const Reader type = body.at("node_type");
    std::optional<NodeType> node_type;
    if (type.raw().is_string())
        node_type = parse_node_type(type.string());
    else
        node_type = parse_node_type(std::to_string(type.integer(0, 2)));
    if (!node_type) type.fail_here("expected heavy, mid, light or 0, 1, 2");
    heartbeat.node_type = *node_type;

    const Reader thresholds = body.at("thresholds");
    heartbeat.thresholds.cpu = thresholds.at("cpu").positive();
    heartbeat.thresholds.ram = thresholds.at("ram").positive();
    heartbeat.thresholds.power = thresholds.at("power").positive();

    const Reader strategy_name = body.at("strategy");
    heartbeat.strategy = strategy_name.string();
    if (heartbeat.strategy.empty() || heartbeat.strategy.size() > kMaxStrategyName ||
        !std::all_of(heartbeat.strategy.begin(), heartbeat.strategy.end(), is_id_char))
        strategy_name.fail_here("not a strategy name: " + quote(heartbeat.strategy));
    heartbeat.period = Millis{body.at("period_ms").integer(1, kMaxPeriodMs)};

    for (const auto &element : body.at("functions").elements(kMaxFunctions)) {
        const Reader name = element.at("name");
        FunctionPort function{name.string(), port_from(element.at("port"))};
        if (!is_valid_function_name(function.name))
            name.fail_here("not a function name (1..63 printable characters, no space): " +
                           quote(function.name));
        if (auto remote_only = element.optional("remote_only")) {
            if (!remote_only->raw().is_boolean()) remote_only->fail_here("expected true or false");
            function.remote_only = remote_only->raw().get<bool>();
        }
        heartbeat.functions.push_back(std::move(function));
    }
    for (const auto &element : body.at("peers").elements(kMaxGossipPeers))
        heartbeat.peers.push_back(
            PeerRef{peer_id_from(element.at("id")),
                    Endpoint{address_from(element.at("ip")), port_from(element.at("port"))}});

    std::sort(heartbeat.functions.begin(), heartbeat.functions.end(),
              [](const auto &a, const auto &b) { return a.name < b.name; });
    std::sort(heartbeat.peers.begin(), heartbeat.peers.end(),
              [](const auto &a, const auto &b) { return a.id < b.id; });
    if (auto problem = heartbeat_problem(heartbeat, sender_id)) body.fail_here(*problem);
    return heartbeat;
}

Json body_to_json(const Body &body) {
    if (const auto *heartbeat = std::get_if<Heartbeat>(&body)) return heartbeat_to_json(*heartbeat);
    Json json = std::visit(
        [](const auto &message) -> Json {
            using T = std::decay_t<decltype(message)>;
            if constexpr (std::is_same_v<T, Heartbeat>)
                return Json::object();
            else
                return strategy::message_to_json(strategy::PeerMessage{message});
        },
        body);
    json.erase("type");
    return json;
}

Body strategy_body_from(const Reader &body, const std::string &type) {
    body.require_object();
    Json message = body.raw();
    message["type"] = type;
    strategy::PeerMessage decoded;
    try {
        decoded = strategy::message_from_json(message);
    } catch (const strategy::Error &error) {
        std::string what = error.what();
        if (what.rfind("message", 0) == 0) what.replace(0, 7, "body");
        fail(RejectReason::InvalidBody, what);
    } catch (const std::exception &error) {
        fail(RejectReason::InvalidBody, std::string("body: ") + error.what());
    }
    if (auto problem = strategy_problem(decoded))
        fail(RejectReason::InvalidBody, "body: " + *problem);
    return to_body(std::move(decoded));
}

Envelope envelope_from(const Json &json) {
    const Reader root(json, "envelope", RejectReason::InvalidEnvelope);
    if (!json.is_object()) fail(RejectReason::MalformedJson, "envelope: expected a JSON object");

    const Reader version = root.at("v");
    if (version.raw() != Json(kProtocolVersion))
        fail(RejectReason::UnsupportedVersion,
             "envelope.v: this node speaks version " + std::to_string(kProtocolVersion) + ", got " +
                 quote(version.raw().dump(-1, ' ', false, Json::error_handler_t::replace)));

    const Reader type_reader = root.at("type");
    const std::string type = type_reader.string();
    const auto known = std::find(std::begin(kMessageTypes), std::end(kMessageTypes), type);
    if (known == std::end(kMessageTypes))
        fail(RejectReason::UnknownType,
             "envelope.type: unknown message type " + quote(type) +
                 " (expected heartbeat, recalc_limits, nms_node_info, nms_margin, static_info)");

    Envelope envelope;
    envelope.sender_id = peer_id_from(root.at("sender_id"));
    envelope.sender_ip = address_from(root.at("sender_ip"));
    envelope.sender_port = port_from(root.at("sender_port"));
    if (auto to = root.optional("to")) envelope.to = peer_id_from(*to);
    envelope.seq = root.at("seq").unsigned_integer(1);
    envelope.sent_at = Instant{Millis{root.at("sent_at").integer(0, kMaxTimestampMs)}};

    const Reader body(root.at("body").raw(), "body", RejectReason::InvalidBody);
    if (type == "heartbeat")
        envelope.body = heartbeat_from(body, envelope.sender_id);
    else
        envelope.body = strategy_body_from(body, type);

    // The decoder never accepts what the encoder would refuse.
    if (auto problem = envelope_problem(envelope))
        fail(RejectReason::InvalidEnvelope, "envelope." + *problem);
    if (auto problem = body_problem(envelope)) fail(RejectReason::InvalidBody, "body." + *problem);
    return envelope;
}

}  // namespace

bool is_valid_peer_id(std::string_view id) {
    return !id.empty() && id.size() <= 63 && is_alnum(id.front()) &&
           std::all_of(id.begin(), id.end(), is_id_char);
}

bool is_valid_function_name(std::string_view name) {
    return !name.empty() && name.size() <= kMaxFunctionName &&
           std::all_of(name.begin(), name.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

std::string_view body_type(const Body &body) {
    return kMessageTypes[body.index()];
}

size_t body_type_index(const Body &body) {
    return body.index();
}

Body to_body(strategy::PeerMessage message) {
    return std::visit([](auto &&value) -> Body { return Body{std::move(value)}; },
                      std::move(message));
}

std::optional<std::string> validation_error(const Envelope &envelope) {
    if (auto problem = envelope_problem(envelope)) return problem;
    if (auto problem = body_problem(envelope)) return "body." + *problem;
    return std::nullopt;
}

std::string encode_envelope(const Envelope &envelope) {
    if (auto problem = validation_error(envelope))
        throw Error("cannot encode " + std::string(envelope.type()) + " message: " + *problem);
    Body body = envelope.body;
    if (auto *heartbeat = std::get_if<Heartbeat>(&body)) {
        std::sort(heartbeat->functions.begin(), heartbeat->functions.end(),
                  [](const auto &a, const auto &b) { return a.name < b.name; });
        std::sort(heartbeat->peers.begin(), heartbeat->peers.end(),
                  [](const auto &a, const auto &b) { return a.id < b.id; });
    }
    Json json{{"v", kProtocolVersion},
              {"type", envelope.type()},
              {"sender_id", envelope.sender_id},
              {"sender_ip", envelope.sender_ip.str()},
              {"sender_port", envelope.sender_port},
              {"seq", envelope.seq},
              {"sent_at", envelope.sent_at.time_since_epoch().count()},
              {"body", body_to_json(body)}};
    if (envelope.to) json["to"] = *envelope.to;
    return json.dump();
}

DecodeResult decode_envelope(std::string_view bytes, size_t max_bytes) {
    DecodeResult result;
    if (bytes.size() > max_bytes) {
        result.rejection = {RejectReason::TooLarge, "message of " + std::to_string(bytes.size()) +
                                                        " bytes, the limit is " +
                                                        std::to_string(max_bytes)};
        return result;
    }
    if (!json_nesting_within(bytes, kMaxJsonDepth)) {
        result.rejection = {RejectReason::MalformedJson,
                            "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels"};
        return result;
    }
    Json json;
    try {
        json = Json::parse(bytes.begin(), bytes.end());
    } catch (const Json::exception &error) {
        result.rejection = {RejectReason::MalformedJson, error.what()};
        return result;
    }
    try {
        result.envelope = envelope_from(json);
    } catch (const DecodeFailure &failure) {
        result.rejection = {failure.reason, failure.detail};
    } catch (const std::exception &error) {
        result.rejection = {RejectReason::InvalidEnvelope, error.what()};
    }
    return result;
}

}  // namespace dfaas::peers
