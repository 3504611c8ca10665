// The listener guards' keys (api.* and peers.* timeouts and connection limits): each range is
// enforced at its ends (the limit accepted, one step beyond refused, naming the key), the values
// reach the Config, and a per-source limit above the total is an error instead of a silent clamp.
#include <gtest/gtest.h>

#include "dfaas/config/config_keys.h"
#include "test_support.h"

using namespace std::chrono_literals;

namespace {

struct Limit {
    std::string path;
    std::string lowest;       // accepted
    std::string below;        // one step under lowest: refused
    std::string highest;      // accepted
    std::string above;        // one step over highest: refused
    std::string below_error;  // fragment of the refusal
    std::string above_error;
};

std::vector<Limit> limits() {
    return {
        {"api.read_timeout", "100ms", "99ms", "1m", "60001ms", "is shorter than the minimum 100ms",
         "is longer than the maximum 1m"},
        {"api.request_deadline", "100ms", "99ms", "5m", "300001ms",
         "is shorter than the minimum 100ms", "is longer than the maximum 5m"},
        {"peers.read_timeout", "100ms", "99ms", "1m", "60001ms",
         "is shorter than the minimum 100ms", "is longer than the maximum 1m"},
        {"peers.request_deadline", "100ms", "99ms", "5m", "300001ms",
         "is shorter than the minimum 100ms", "is longer than the maximum 5m"},
        {"peers.max_connections_per_source", "1", "0", "1024", "1025", "is out of range 1..1024",
         "is out of range 1..1024"},
        {"peers.max_connections", "1", "0", "4096", "4097", "is out of range 1..4096",
         "is out of range 1..4096"},
        {"api.max_connections_per_source", "1", "0", "1024", "1025", "is out of range 1..1024",
         "is out of range 1..1024"},
        {"api.max_connections", "1", "0", "4096", "4097", "is out of range 1..4096",
         "is out of range 1..4096"},
    };
}

// The per-source limit must not exceed the total: when a test sets one of them, the other is
// set out of the way (total 4096, per source 1), so that only the value under test decides.
dfaas::Environment with_room(const std::string &path, const std::string &value) {
    dfaas::Environment env{{dfaas::generic_env_name(path), value}};
    const std::string section = path.substr(0, path.find('.'));
    if (path.ends_with(".max_connections_per_source"))
        env[dfaas::generic_env_name(section + ".max_connections")] = "4096";
    if (path.ends_with(".max_connections"))
        env[dfaas::generic_env_name(section + ".max_connections_per_source")] = "1";
    return env;
}

}  // namespace

TEST(GuardLimits, EachEndIsAcceptedAndOneStepBeyondIsRefusedNamingTheKey) {
    for (const auto &limit : limits()) {
        const std::string variable = dfaas::generic_env_name(limit.path);
        for (const auto &good : {limit.lowest, limit.highest}) {
            auto result = load_yaml(kMinimalYaml, with_room(limit.path, good));
            EXPECT_TRUE(result.ok()) << limit.path << "=" << good << all_errors(result);
        }
        EXPECT_TRUE(has_error(load_yaml(kMinimalYaml, with_room(limit.path, limit.below)),
                              limit.path, {limit.below_error, "env " + variable}));
        EXPECT_TRUE(has_error(load_yaml(kMinimalYaml, with_room(limit.path, limit.above)),
                              limit.path, {limit.above_error, "env " + variable}));
    }
}

TEST(GuardLimits, ValuesReachTheConfig) {
    dfaas::Config config = load_ok(kMinimalYaml +
                                   "api:\n  read_timeout: 750ms\n  request_deadline: 3s\n"
                                   "peers:\n  read_timeout: 2s\n  request_deadline: 20s\n"
                                   "  max_connections_per_source: 4\n  max_connections: 40\n");
    EXPECT_EQ(config.api.read_timeout, 750ms);
    EXPECT_EQ(config.api.request_deadline, 3s);
    EXPECT_EQ(config.peers.read_timeout, 2s);
    EXPECT_EQ(config.peers.request_deadline, 20s);
    EXPECT_EQ(config.peers.max_connections_per_source, 4u);
    EXPECT_EQ(config.peers.max_connections, 40u);
}

// The defaults are the guard's former built-in values (peers::ServerSettings, GuardSettings), so
// a node without these keys behaves as before.
TEST(GuardLimits, DefaultsAreTheFormerBuiltInValues) {
    dfaas::Config config = load_ok(kMinimalYaml);
    EXPECT_EQ(config.api.read_timeout, 5s);
    EXPECT_EQ(config.api.request_deadline, 10s);
    EXPECT_EQ(config.peers.read_timeout, 5s);
    EXPECT_EQ(config.peers.request_deadline, 10s);
    EXPECT_EQ(config.peers.max_connections_per_source, 8u);
    EXPECT_EQ(config.peers.max_connections, 64u);
}

TEST(GuardLimits, PerSourceAboveTheTotalIsRefusedNamingThePerSourceKey) {
    for (const std::string section : {"api", "peers"}) {
        const std::string file =
            kMinimalYaml + section + ":\n  max_connections_per_source: 17\n  max_connections: 16\n";
        EXPECT_TRUE(
            has_error(load_yaml(file), section + ".max_connections_per_source",
                      {"17 is more than " + section + ".max_connections (16, from test.yaml",
                       "from test.yaml line"}));
        const std::string equal =
            kMinimalYaml + section + ":\n  max_connections_per_source: 16\n  max_connections: 16\n";
        EXPECT_TRUE(load_yaml(equal).ok()) << all_errors(load_yaml(equal));
    }
}

TEST(GuardLimits, PerSourceAboveTheDefaultTotalIsRefusedToo) {
    auto result = load_yaml(kMinimalYaml, {{"DFAAS_PEERS_MAX_CONNECTIONS_PER_SOURCE", "65"}});
    EXPECT_TRUE(has_error(result, "peers.max_connections_per_source",
                          {"65 is more than peers.max_connections (64)",
                           "env DFAAS_PEERS_MAX_CONNECTIONS_PER_SOURCE"}));
}
