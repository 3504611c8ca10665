#include "api_requests.h"
#include "dfaas/json_depth.h"

#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

namespace dfaas::agent {

namespace {

using nlohmann::json;

// The policy body is two levels deep; anything much deeper is an attack on the parser.
constexpr size_t kMaxNesting = 8;
constexpr size_t kMaxShownChars = 64;

struct FieldError {
    std::string message;
};

// Quotes received text in an error: printable ASCII only, bounded.
std::string shown(std::string_view text) {
    std::string out(text.substr(0, kMaxShownChars));
    for (char &c : out)
        if (c < 0x20 || c >= 0x7f) c = '?';
    return "\"" + out + (text.size() > kMaxShownChars ? "...\"" : "\"");
}

std::string number_text(const json &value) {
    return value.dump(-1, ' ', false, json::error_handler_t::replace).substr(0, kMaxShownChars);
}

// An integer in [0, max]: a JSON integer, or a float with no fraction (1e2 is 100).
std::optional<FieldError> bounded_integer(const json &value, const std::string &field, uint64_t max,
                                          uint32_t &out) {
    const std::string bounds = "0.." + std::to_string(max);
    if (value.is_number_unsigned()) {
        const auto v = value.get<uint64_t>();
        if (v > max) return FieldError{field + ": " + number_text(value) + " is outside " + bounds};
        out = static_cast<uint32_t>(v);
        return std::nullopt;
    }
    if (value.is_number_integer())  // signed: only negatives get here
        return FieldError{field + ": " + number_text(value) + " is negative (must be " + bounds +
                          ")"};
    if (value.is_number_float()) {
        const double v = value.get<double>();
        if (!std::isfinite(v) || v < 0 || v > static_cast<double>(max))
            return FieldError{field + ": " + number_text(value) + " is outside " + bounds};
        if (std::floor(v) != v)
            return FieldError{field + ": " + number_text(value) + " is not an integer"};
        out = static_cast<uint32_t>(v);
        return std::nullopt;
    }
    return FieldError{field + " must be an integer " + bounds};
}

class PeerResolver {
  public:
    explicit PeerResolver(const std::vector<PolicyPeer> &members) : members_(members) {}

    std::variant<Ipv4, FieldError> resolve(const std::string &name,
                                           const std::string &field) const {
        if (auto ip = Ipv4::parse(name)) {
            for (const auto &m : members_)
                if (m.address == *ip) return *ip;
            return FieldError{field + ": unknown peer " + shown(name) +
                              " (not the address of a current member)"};
        }
        for (const auto &m : members_)
            if (m.id == name) return m.address;
        return FieldError{field + ": unknown peer " + shown(name) +
                          " (not the node id or address of a current member)"};
    }

  private:
    const std::vector<PolicyPeer> &members_;
};

std::optional<FieldError> peer_values(const json &body, const char *field, uint64_t max,
                                      const PeerResolver &peers, std::map<Ipv4, uint32_t> &out) {
    if (!body.contains(field)) return std::nullopt;
    const json &object = body[field];
    if (!object.is_object())
        return FieldError{std::string(field) + " must be an object {peer: value}"};
    for (const auto &[name, value] : object.items()) {
        const std::string where = std::string(field) + "." + name.substr(0, kMaxShownChars);
        auto resolved = peers.resolve(name, std::string(field));
        if (auto *error = std::get_if<FieldError>(&resolved)) return *error;
        const Ipv4 address = std::get<Ipv4>(resolved);
        uint32_t v = 0;
        if (auto error = bounded_integer(value, where, max, v)) return error;
        if (!out.emplace(address, v).second)
            return FieldError{where + ": peer " + address.str() + " is named twice"};
    }
    return std::nullopt;
}

std::optional<FieldError> parse_ttl(const json &body, std::optional<std::chrono::seconds> &ttl) {
    if (!body.contains("ttl_s") || body["ttl_s"].is_null()) return std::nullopt;
    const json &value = body["ttl_s"];
    const std::string range = std::to_string(kMinOverrideTtlSeconds) + ".." +
                              std::to_string(kMaxOverrideTtlSeconds) + " seconds";
    if (!value.is_number()) return FieldError{"ttl_s must be a number of seconds (" + range + ")"};
    const double seconds = value.get<double>();
    if (!std::isfinite(seconds) || seconds < static_cast<double>(kMinOverrideTtlSeconds) ||
        seconds > static_cast<double>(kMaxOverrideTtlSeconds))
        return FieldError{"ttl_s: " + number_text(value) + " is outside " + range};
    ttl = std::chrono::seconds(static_cast<int64_t>(seconds));
    return std::nullopt;
}

std::optional<FieldError> parse_into(const json &body, const std::vector<PolicyPeer> &members,
                                     PolicyRequest &request) {
    if (!body.is_object()) return FieldError{"body must be a JSON object"};
    static const std::set<std::string> kKeys = {"local",    "reject",   "peers", "local_cap",
                                                "overflow", "limit_in", "ttl_s"};
    for (const auto &[key, value] : body.items())
        if (!kKeys.count(key)) return FieldError{"unknown field " + shown(key)};

    FunctionPolicy &p = request.policy;
    p.local = 0;  // absent weights are 0, not the all-local default
    for (const auto &[field, target, max] :
         {std::tuple{"local", &p.local, uint64_t{kMaxWeight}},
          std::tuple{"reject", &p.reject, uint64_t{kMaxWeight}},
          std::tuple{"local_cap", &p.local_cap, uint64_t{kMaxRequestRate}}})
        if (body.contains(field))
            if (auto error = bounded_integer(body[field], field, max, *target)) return error;

    const PeerResolver peers(members);
    if (auto error = peer_values(body, "peers", kMaxWeight, peers, p.peers)) return error;
    if (auto error = peer_values(body, "overflow", kMaxWeight, peers, p.overflow)) return error;
    if (auto error = peer_values(body, "limit_in", kMaxRequestRate, peers, p.limit_in))
        return error;
    if (auto error = parse_ttl(body, request.ttl)) return error;
    if (auto problem = p.validate()) return FieldError{*problem};
    return std::nullopt;
}

}  // namespace

std::variant<PolicyRequest, std::string> parse_policy_request(
    std::string_view body, const std::vector<PolicyPeer> &members) {
    try {
        if (body.size() > kMaxPolicyRequestBytes)
            return "body: " + std::to_string(body.size()) + " bytes, the limit is " +
                   std::to_string(kMaxPolicyRequestBytes);
        if (!json_nesting_within(body, kMaxNesting))
            return "body: nested deeper than " + std::to_string(kMaxNesting) + " levels";
        const json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
        if (parsed.is_discarded()) return std::string("body: not valid JSON");
        PolicyRequest request;
        if (auto error = parse_into(parsed, members, request)) return error->message;
        return request;
    } catch (const std::exception &error) {  // bad_alloc, or a json accessor we did not expect
        return std::string("body: ") + error.what();
    }
}

}  // namespace dfaas::agent
