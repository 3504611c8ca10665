#include "dfaas/peers/envelope.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "dfaas/config/node_id.h"
#include "support.h"

namespace dfaas::peers {
namespace {

using namespace testing;
using nlohmann::json;

std::string read_file(const std::filesystem::path &path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

Envelope sample_heartbeat() {
    Envelope envelope = envelope_from(
        "node-a", "10.0.0.1:30090",
        heartbeat({{"shasum", 31002}, {"figlet", 31001}},
                  {{"node-c", endpoint("10.0.0.3:30090")}, {"node-b", endpoint("10.0.0.2:30090")}}),
        1700000000000000, kNow);
    return envelope;
}

// A valid envelope as JSON, to be broken one field at a time.
json valid_json() {
    return json::parse(encode_envelope(sample_heartbeat()));
}

TEST(Envelope, HeartbeatRoundTripsAndIsCanonical) {
    const Envelope original = sample_heartbeat();
    const std::string text = encode_envelope(original);
    const DecodeResult decoded = decode_envelope(text);
    ASSERT_TRUE(decoded.ok()) << decoded.rejection.detail;
    // The encoder sorts functions by name and peers by id; the decoder does the same.
    const auto &body = std::get<Heartbeat>(decoded.envelope->body);
    ASSERT_EQ(body.functions.size(), 2u);
    EXPECT_EQ(body.functions[0], (FunctionPort{"figlet", 31001}));
    EXPECT_EQ(body.functions[1], (FunctionPort{"shasum", 31002}));
    EXPECT_EQ(body.peers[0].id, "node-b");
    EXPECT_EQ(body.peers[1].id, "node-c");
    EXPECT_EQ(decoded.envelope->sender_id, "node-a");
    EXPECT_EQ(decoded.envelope->sender_endpoint(), endpoint("10.0.0.1:30090"));
    EXPECT_EQ(decoded.envelope->seq, 1700000000000000u);
    EXPECT_EQ(decoded.envelope->sent_at, kNow);
    EXPECT_FALSE(decoded.envelope->to.has_value());
    EXPECT_EQ(encode_envelope(*decoded.envelope), text);
}

TEST(Envelope, EveryStrategyMessageRoundTrips) {
    std::vector<Body> bodies = {
        strategy::RecalcLimits{{{"figlet", 25.0}, {"shasum", 0.0}}},
        strategy::NmsNodeInfo{NodeType::Light, {90.0, 2e9, 1e6}, {"curl", "figlet"}},
        strategy::NmsMargin{24.55, strategy::GroupLoad{1.5, 0.0, 7.25}},
        strategy::StaticInfo{{"figlet"}},
        strategy::StaticInfo{{}},
    };
    for (const auto &body : bodies) {
        Envelope envelope = envelope_from("node-b", "10.0.0.2:30091", body, 42, kNow);
        if (std::holds_alternative<strategy::RecalcLimits>(body)) envelope.to = "node-a";
        const std::string text = encode_envelope(envelope);
        const DecodeResult decoded = decode_envelope(text);
        ASSERT_TRUE(decoded.ok()) << text << ": " << decoded.rejection.detail;
        EXPECT_EQ(*decoded.envelope, envelope) << text;
        EXPECT_EQ(json::parse(text)["type"], std::string(body_type(body)));
        EXPECT_FALSE(json::parse(text)["body"].contains("type")) << text;
    }
}

TEST(Envelope, TypeNamesFollowTheBodyAlternatives) {
    EXPECT_EQ(body_type(Body{Heartbeat{}}), "heartbeat");
    EXPECT_EQ(body_type(Body{strategy::RecalcLimits{}}), "recalc_limits");
    EXPECT_EQ(body_type(Body{strategy::NmsNodeInfo{}}), "nms_node_info");
    EXPECT_EQ(body_type(Body{strategy::NmsMargin{}}), "nms_margin");
    EXPECT_EQ(body_type(Body{strategy::StaticInfo{}}), "static_info");
    for (size_t i = 0; i < kMessageTypeCount; ++i) {
        // message_type() of the strategies library names the same wire types.
        if (i == 0) continue;
        Body body;
        switch (i) {
            case 1:
                body = strategy::RecalcLimits{};
                break;
            case 2:
                body = strategy::NmsNodeInfo{};
                break;
            case 3:
                body = strategy::NmsMargin{};
                break;
            default:
                body = strategy::StaticInfo{};
                break;
        }
        EXPECT_EQ(body_type_index(body), i);
    }
    EXPECT_EQ(strategy::message_type(strategy::NmsMargin{}), kMessageTypes[3]);
}

TEST(Envelope, WireExampleOfTheDocsDecodes) {
    // tests/fixtures/peers/corpus/valid-heartbeat.json is the example of docs/peer-protocol.md.
    const DecodeResult decoded =
        decode_envelope(read_file(DFAAS_PEERS_FIXTURES_DIR "/corpus/valid-heartbeat.json"));
    ASSERT_TRUE(decoded.ok()) << decoded.rejection.detail;
    const Envelope &envelope = *decoded.envelope;
    EXPECT_EQ(envelope.sender_id, "node-a");
    EXPECT_EQ(envelope.sender_endpoint(), endpoint("10.0.0.1:30090"));
    EXPECT_EQ(envelope.seq, 1718000000000001u);
    EXPECT_EQ(envelope.sent_at, at_ms(1718000000123));
    const auto &body = std::get<Heartbeat>(envelope.body);
    EXPECT_EQ(body.node_type, NodeType::Mid);
    EXPECT_EQ(body.thresholds, (strategy::Thresholds{120.0, 5.5e9, 2.1e6}));
    EXPECT_EQ(body.strategy, "recalc");
    EXPECT_EQ(body.period, Millis{10000});
    EXPECT_EQ(body.functions, (std::vector<FunctionPort>{{"figlet", 31001}, {"shasum", 31002}}));
    EXPECT_EQ(body.peers, (std::vector<PeerRef>{{"node-b", endpoint("10.0.0.2:30090")}}));
}

// Every file of the fuzzer's seed corpus is a documented case: valid-*.json decode, and
// invalid-<reason>[-what].json are refused for <reason>.
TEST(Envelope, SeedCorpusFilesDecodeAsTheirNamesSay) {
    size_t valid = 0;
    size_t invalid = 0;
    for (const auto &entry :
         std::filesystem::directory_iterator(DFAAS_PEERS_FIXTURES_DIR "/corpus")) {
        const std::string name = entry.path().filename().string();
        const DecodeResult decoded = decode_envelope(read_file(entry.path()));
        if (name.rfind("valid-", 0) == 0) {
            EXPECT_TRUE(decoded.ok()) << name << ": " << decoded.rejection.detail;
            ++valid;
        } else if (name.rfind("invalid-", 0) == 0) {
            std::string reason = name.substr(8, name.find_first_of("-.", 8) - 8);
            ASSERT_FALSE(decoded.ok()) << name;
            EXPECT_EQ(to_string(decoded.rejection.reason), reason)
                << name << ": " << decoded.rejection.detail;
            ++invalid;
        } else {
            ADD_FAILURE() << "corpus file " << name << " is neither valid-* nor invalid-*";
        }
    }
    EXPECT_GE(valid, 5u);
    EXPECT_GE(invalid, 5u);
}

struct BadCase {
    const char *name;
    std::function<void(json &)> mutate;
    RejectReason reason;
    const char *detail;  // a substring of the rejection's detail
};

TEST(Envelope, EveryMalformedFieldIsRefusedWithItsReasonAndPath) {
    const std::vector<BadCase> cases = {
        {"v missing", [](json &j) { j.erase("v"); }, RejectReason::InvalidEnvelope, "envelope.v"},
        {"v 2", [](json &j) { j["v"] = 2; }, RejectReason::UnsupportedVersion, "version 1"},
        {"v text", [](json &j) { j["v"] = "1"; }, RejectReason::UnsupportedVersion, "envelope.v"},
        {"type missing", [](json &j) { j.erase("type"); }, RejectReason::InvalidEnvelope,
         "envelope.type: missing"},
        {"type number", [](json &j) { j["type"] = 3; }, RejectReason::InvalidEnvelope,
         "envelope.type: expected a string"},
        {"type unknown", [](json &j) { j["type"] = "nodeinfoRecalc"; }, RejectReason::UnknownType,
         "nodeinfoRecalc"},
        {"sender_id missing", [](json &j) { j.erase("sender_id"); }, RejectReason::InvalidEnvelope,
         "envelope.sender_id: missing"},
        {"sender_id invalid", [](json &j) { j["sender_id"] = "-bad id"; },
         RejectReason::InvalidEnvelope, "envelope.sender_id: not a node id"},
        {"sender_id too long", [](json &j) { j["sender_id"] = std::string(64, 'a'); },
         RejectReason::InvalidEnvelope, "envelope.sender_id"},
        {"sender_ip invalid", [](json &j) { j["sender_ip"] = "10.0.0.256"; },
         RejectReason::InvalidEnvelope, "envelope.sender_ip: not an IPv4"},
        {"sender_ip any", [](json &j) { j["sender_ip"] = "0.0.0.0"; },
         RejectReason::InvalidEnvelope, "0.0.0.0"},
        {"sender_port 0", [](json &j) { j["sender_port"] = 0; }, RejectReason::InvalidEnvelope,
         "envelope.sender_port: expected an integer in 1..65535"},
        {"sender_port big", [](json &j) { j["sender_port"] = 65536; },
         RejectReason::InvalidEnvelope, "envelope.sender_port"},
        {"sender_port float", [](json &j) { j["sender_port"] = 30090.5; },
         RejectReason::InvalidEnvelope, "expected an integer"},
        {"seq 0", [](json &j) { j["seq"] = 0; }, RejectReason::InvalidEnvelope,
         "envelope.seq: expected an integer >= 1"},
        {"seq negative", [](json &j) { j["seq"] = -5; }, RejectReason::InvalidEnvelope,
         "envelope.seq"},
        {"seq text", [](json &j) { j["seq"] = "7"; }, RejectReason::InvalidEnvelope,
         "envelope.seq: expected an integer"},
        {"sent_at negative", [](json &j) { j["sent_at"] = -1; }, RejectReason::InvalidEnvelope,
         "envelope.sent_at"},
        {"sent_at far future", [](json &j) { j["sent_at"] = 253402300800000; },
         RejectReason::InvalidEnvelope, "envelope.sent_at"},
        {"to invalid", [](json &j) { j["to"] = ""; }, RejectReason::InvalidEnvelope,
         "envelope.to: not a node id"},
        {"body missing", [](json &j) { j.erase("body"); }, RejectReason::InvalidEnvelope,
         "envelope.body: missing"},
        {"body array", [](json &j) { j["body"] = json::array(); }, RejectReason::InvalidBody,
         "body: expected an object"},
        {"node_type unknown", [](json &j) { j["body"]["node_type"] = "huge"; },
         RejectReason::InvalidBody, "body.node_type"},
        {"node_type 3", [](json &j) { j["body"]["node_type"] = 3; }, RejectReason::InvalidBody,
         "body.node_type"},
        {"threshold 0", [](json &j) { j["body"]["thresholds"]["cpu"] = 0; },
         RejectReason::InvalidBody, "body.thresholds.cpu: expected a finite number > 0"},
        {"threshold missing", [](json &j) { j["body"]["thresholds"].erase("ram"); },
         RejectReason::InvalidBody, "body.thresholds.ram: missing"},
        {"strategy bad", [](json &j) { j["body"]["strategy"] = "re calc"; },
         RejectReason::InvalidBody, "body.strategy"},
        {"period 0", [](json &j) { j["body"]["period_ms"] = 0; }, RejectReason::InvalidBody,
         "body.period_ms"},
        {"function name empty", [](json &j) { j["body"]["functions"][0]["name"] = ""; },
         RejectReason::InvalidBody, "body.functions[0].name: not a function name"},
        {"function name control", [](json &j) { j["body"]["functions"][0]["name"] = "a\nb"; },
         RejectReason::InvalidBody, "body.functions[0].name"},
        {"function name long",
         [](json &j) { j["body"]["functions"][0]["name"] = std::string(64, 'f'); },
         RejectReason::InvalidBody, "body.functions[0].name"},
        {"function port 0", [](json &j) { j["body"]["functions"][0]["port"] = 0; },
         RejectReason::InvalidBody, "body.functions[0].port"},
        {"function twice",
         [](json &j) { j["body"]["functions"][1]["name"] = j["body"]["functions"][0]["name"]; },
         RejectReason::InvalidBody, "listed twice"},
        {"port twice",
         [](json &j) { j["body"]["functions"][1]["port"] = j["body"]["functions"][0]["port"]; },
         RejectReason::InvalidBody, "used twice"},
        {"functions object", [](json &j) { j["body"]["functions"] = json::object(); },
         RejectReason::InvalidBody, "body.functions: expected an array"},
        {"peer lists sender", [](json &j) { j["body"]["peers"][0]["id"] = "node-a"; },
         RejectReason::InvalidBody, "lists the sender itself"},
        {"peer ip bad", [](json &j) { j["body"]["peers"][0]["ip"] = "x"; },
         RejectReason::InvalidBody, "body.peers[0].ip"},
        {"peer twice", [](json &j) { j["body"]["peers"][1]["id"] = j["body"]["peers"][0]["id"]; },
         RejectReason::InvalidBody, "listed twice"},
        {"not an object",
         [](json &j) {
             j = json::array({1, 2});
         },
         RejectReason::MalformedJson, "expected a JSON object"},
    };
    for (const auto &bad : cases) {
        json document = valid_json();
        bad.mutate(document);
        const DecodeResult decoded = decode_envelope(document.dump());
        ASSERT_FALSE(decoded.ok()) << bad.name;
        EXPECT_EQ(decoded.rejection.reason, bad.reason)
            << bad.name << ": " << to_string(decoded.rejection.reason) << " "
            << decoded.rejection.detail;
        EXPECT_NE(decoded.rejection.detail.find(bad.detail), std::string::npos)
            << bad.name << ": " << decoded.rejection.detail;
    }
}

TEST(Envelope, StrategyBodiesAreCheckedByTheStrategiesRulesAndOurs) {
    const std::vector<std::tuple<const char *, json, const char *>> cases = {
        {"recalc_limits", {{"limits", {{"figlet", -1}}}}, "body.limits"},
        {"recalc_limits", {{"limits", {{"bad name", 1}}}}, "not a function name"},
        {"recalc_limits", json::object(), "body.limits: missing"},
        {"nms_node_info",
         {{"node_type", "mid"},
          {"thresholds", {{"cpu", 1}, {"ram", -1}, {"power", 1}}},
          {"functions", json::array()}},
         "body.thresholds"},
        {"nms_margin", {{"margin", 1}, {"load", {{"HUGE_USAGE", 1}}}}, "unknown group"},
        {"static_info", {{"functions", {"ok", ""}}}, "body"},
    };
    for (const auto &[type, body, detail] : cases) {
        json document = valid_json();
        document["type"] = type;
        document["body"] = body;
        const DecodeResult decoded = decode_envelope(document.dump());
        ASSERT_FALSE(decoded.ok()) << body.dump();
        EXPECT_EQ(decoded.rejection.reason, RejectReason::InvalidBody)
            << body.dump() << ": " << decoded.rejection.detail;
        EXPECT_NE(decoded.rejection.detail.find(detail), std::string::npos)
            << decoded.rejection.detail;
    }
}

TEST(Envelope, UnknownKeysAreIgnoredForForwardCompatibility) {
    json document = valid_json();
    document["future_field"] = {1, 2, 3};
    document["body"]["also_new"] = "x";
    const DecodeResult decoded = decode_envelope(document.dump());
    ASSERT_TRUE(decoded.ok()) << decoded.rejection.detail;
    EXPECT_EQ(*decoded.envelope, *decode_envelope(encode_envelope(sample_heartbeat())).envelope);
}

TEST(Envelope, MalformedJsonIsRefused) {
    for (const std::string &text :
         std::vector<std::string>{"", "{", "not json", "{\"v\":1,}", "\x80\x81", "{\"v\":\"\xff\"}",
                                  "[1,2", "nul", "{\"a\":1e999999}"}) {
        const DecodeResult decoded = decode_envelope(text);
        ASSERT_FALSE(decoded.ok()) << text;
        EXPECT_EQ(decoded.rejection.reason, RejectReason::MalformedJson)
            << text << ": " << decoded.rejection.detail;
    }
}

TEST(Envelope, DeepNestingIsRefusedBeforeParsing) {
    EXPECT_EQ(decode_envelope(std::string(17, '[') + std::string(17, ']')).rejection.reason,
              RejectReason::MalformedJson);
    // 16 levels parse (and then fail as not an object).
    EXPECT_EQ(decode_envelope(std::string(16, '[') + std::string(16, ']')).rejection.detail,
              "envelope: expected a JSON object");
    // Brackets inside strings do not count.
    json document = valid_json();
    document["body"]["strategy_note"] = std::string(100, '[');
    EXPECT_TRUE(decode_envelope(document.dump()).ok());
    const std::string deep = std::string(200000, '[');
    const DecodeResult decoded = decode_envelope(deep);
    EXPECT_EQ(decoded.rejection.reason, RejectReason::MalformedJson);
}

TEST(Envelope, OversizedMessagesAreRefusedBeforeParsing) {
    const std::string big(kMaxMessageBytes + 1, ' ');
    const DecodeResult decoded = decode_envelope(big);
    EXPECT_EQ(decoded.rejection.reason, RejectReason::TooLarge);
    EXPECT_NE(decoded.rejection.detail.find("262144"), std::string::npos);
    const std::string text = encode_envelope(sample_heartbeat());
    EXPECT_EQ(decode_envelope(text, text.size() - 1).rejection.reason, RejectReason::TooLarge);
    EXPECT_TRUE(decode_envelope(text, text.size()).ok());
}

TEST(Envelope, ListsLongerThanTheLimitsAreRefused) {
    json document = valid_json();
    json peers = json::array();
    for (size_t i = 0; i <= kMaxGossipPeers; ++i)
        peers.push_back({{"id", "n" + std::to_string(i)}, {"ip", "10.1.0.1"}, {"port", 1}});
    document["body"]["peers"] = peers;
    const DecodeResult decoded = decode_envelope(document.dump());
    EXPECT_EQ(decoded.rejection.reason, RejectReason::InvalidBody);
    EXPECT_NE(decoded.rejection.detail.find("at most 1024"), std::string::npos);
}

TEST(Envelope, EncoderRefusesWhatReceiversWouldReject) {
    Envelope envelope = sample_heartbeat();
    envelope.seq = 0;
    EXPECT_THROW(encode_envelope(envelope), Error);
    envelope = sample_heartbeat();
    std::get<Heartbeat>(envelope.body).functions.push_back({"dup", 31001});
    EXPECT_THROW(encode_envelope(envelope), Error);
    envelope = sample_heartbeat();
    envelope.sender_id = "bad id";
    EXPECT_THROW(encode_envelope(envelope), Error);
    envelope = envelope_from("node-a", "10.0.0.1:1", strategy::RecalcLimits{{{"f", std::nan("")}}});
    EXPECT_THROW(encode_envelope(envelope), Error);
    ASSERT_TRUE(validation_error(envelope).has_value());
    EXPECT_NE(validation_error(envelope)->find("finite"), std::string::npos);
    EXPECT_FALSE(validation_error(sample_heartbeat()).has_value());
}

TEST(Envelope, PeerIdRuleIsTheConfigurationsNodeIdRule) {
    for (const std::string &id : std::vector<std::string>{
             "node-a", "a", "A.b_c-d", "9lives", "-x", ".x", "_x", "", "a b", "a/b", "né",
             std::string(63, 'x'), std::string(64, 'x'), "node-0123456789abcdef", "a\n"})
        EXPECT_EQ(is_valid_peer_id(id), dfaas::is_valid_node_id(id)) << id;
}

}  // namespace
}  // namespace dfaas::peers
