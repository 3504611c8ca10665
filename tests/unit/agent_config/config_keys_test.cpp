// Every key: a bad value is an error naming the key (from the file and from the environment);
// the key list is consistent and the documentation is generated from it.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>

#include "dfaas/config/config_keys.h"
#include "test_support.h"

namespace {

struct BadValue {
    std::string path;
    std::string value;    // as written in the file (and set in the environment)
    std::string reason;   // a fragment the error must contain
    std::string context;  // extra YAML making the value relevant (e.g. the strategy that needs it)
};

// One bad value per key; BadValueTableCoversEveryKey keeps it complete.
std::vector<BadValue> bad_values() {
    return {
        {"node.id", "has space", "is not a node id", ""},
        {"node.id_file", "/var/lib/dfaas/", "is a directory path", ""},
        {"node.state_file", "/var/lib/dfaas/", "is a directory path", ""},
        {"node.ip", "10.0.0", "is not an IPv4 address", ""},
        {"node.type", "huge", "is not one of heavy, mid, light (also accepted: 0, 1, 2)", ""},
        {"dataplane.interface", "a-very-long-interface-name", "is not a network interface name",
         ""},
        {"dataplane.interfaces", "eth0,eth0", "\"eth0\" (item 2) is named twice", ""},
        {"dataplane.bpffs", "relative/dir", "is not an absolute path", ""},
        {"dataplane.gateway", "10.0.0.1", "is not an IPv4 address with a port", ""},
        {"dataplane.reject_mode", "reset", "is not one of rst, drop", ""},
        {"dataplane.forward_mode", "nat", "is not one of encap", ""},
        {"dataplane.mtu", "100", "is not 0 (use the interface's MTU) or an MTU in 576..65535", ""},
        {"dataplane.ct_entries", "10", "is out of range 1024..16777216", ""},
        {"dataplane.ct_half_open_entries", "10", "is out of range 1024..16777216", ""},
        {"dataplane.default_limit_in", "-1", "is not a whole number in 0..4294967295", ""},
        {"dataplane.ct_timeouts.syn", "-1s", "is not a positive duration", ""},
        {"dataplane.ct_timeouts.established", "forever", "is not a duration", ""},
        {"dataplane.ct_timeouts.closing", "0", "is not a positive duration", ""},
        {"dataplane.syn_guard_rate", "-5", "is not a whole number in 0..100000000", ""},
        {"dataplane.http_stats", "maybe", "is not a boolean (true or false)", ""},
        {"dataplane.function_ports", "32000-31000", "is an empty range", ""},
        {"strategy.name", "roundrobin", "is not one of recalc, nodemargin", ""},
        {"strategy.period", "-3s", "is not a positive duration", ""},
        {"strategy.nms.cpu_threshold", "-1", "is not a positive number", ""},
        {"strategy.nms.ram_threshold", "lots", "is not a number", ""},
        {"strategy.nms.power_threshold", "0", "is not a positive number", ""},
        {"strategy.group_file", "/nonexistent/groups.json", "cannot read", ""},
        {"strategy.external.url", "ftp://model", "is not a valid URL", ""},
        {"strategy.external.timeout", "5us", "is finer than a millisecond", ""},
        {"strategy.external.explore", "sometimes", "is not a boolean (true or false)", ""},
        {"strategy.recalc.overflow", "always", "is not one of standby, overloaded", ""},
        {"strategy.guard.enabled", "maybe", "is not a boolean (true or false)", ""},
        {"strategy.guard.error_ratio", "1.5", "is out of range 0..1", ""},
        {"strategy.guard.min_responses", "0", "is out of range 1..1000000", ""},
        {"strategy.guard.ticks", "61", "is out of range 1..60", ""},
        {"strategy.guard.hold", "2h", "is longer than the maximum 1h", ""},
        {"forecaster.mode", "remote", "is not one of native, http", ""},
        {"forecaster.models_dir", "/nonexistent/models", "is not a directory",
         "strategy:\n  name: nodemargin\n"},
        {"forecaster.variant", "median", "is not one of regression, quantile005, quantile095", ""},
        {"forecaster.url", "localhost:8000", "is not a valid URL", ""},
        {"forecaster.timeout", "2 s", "is not a duration", ""},
        {"openfaas.url", "http://admin:pw@gateway:8080", "credentials in the URL", ""},
        {"openfaas.username", "ad:min", "contains ':'", ""},
        {"openfaas.password_file", "/nonexistent/password", "cannot read",
         "openfaas:\n  username: admin\n"},
        {"openfaas.timeout", "0s", "is not a positive duration", ""},
        {"prometheus.url", "http://prometheus:99999", "not a number in 1..65535", ""},
        {"prometheus.timeout", "soon", "is not a duration", ""},
        {"prometheus.window", "10s", "covers fewer than 3 scrapes", ""},
        {"prometheus.scrape_interval", "-5s", "is not a positive duration", ""},
        {"prometheus.node_cpu_query", "sum(rate(x[$window])", "has an unclosed '('", ""},
        {"prometheus.node_ram_query", "x}", "has an unbalanced '}'", ""},
        {"prometheus.function_cpu_query", "sum by (function_name) (x", "has an unclosed '('", ""},
        {"prometheus.node_cores_query", "machine_cpu_cores]", "has an unbalanced ']'", ""},
        {"api.listen", "9080", "is not an IPv4 address with a port", ""},
        {"api.token_file", "/nonexistent/token", "cannot read", ""},
        {"api.health_listen", "9081", "is not an IPv4 address with a port", ""},
        {"api.max_connections_per_source", "0", "is out of range 1..1024", ""},
        {"api.max_connections", "5000", "is out of range 1..4096", ""},
        {"api.read_timeout", "61s", "is longer than the maximum 1m", ""},
        {"api.request_deadline", "99ms", "is shorter than the minimum 100ms", ""},
        {"peers.listen_port", "70000", "is not a port number in 1..65535", ""},
        {"peers.seeds", "10.0.0.2:30090, bogus", "\"bogus\" (item 2)", ""},
        {"peers.cluster_key_file", "/nonexistent/key", "cannot read", ""},
        {"peers.replay_window", "500ms", "is shorter than the minimum 1s", ""},
        {"peers.control_tick", "1m", "is longer than strategy.period", ""},
        {"peers.read_timeout", "1m1s", "is longer than the maximum 1m", ""},
        {"peers.request_deadline", "5m1ms", "is longer than the maximum 5m", ""},
        {"peers.max_connections_per_source", "1025", "is out of range 1..1024", ""},
        {"peers.max_connections", "0", "is out of range 1..4096", ""},
        {"entry.enabled", "maybe", "is not a boolean (true or false)", ""},
        {"entry.port", "31500", "is inside dataplane.function_ports", ""},
        {"entry.max_connections", "0", "is out of range 1..1048576", ""},
        {"entry.head_timeout", "50ms", "100ms", ""},
        {"entry.max_head_bytes", "100", "is out of range 1024..65536", ""},
        {"entry.idle_timeout", "2h", "1h", ""},
        {"log.level", "verbose", "is not one of trace, debug, info, warn, error", ""},
    };
}

// The minimal file plus the context, with `path` set to the bad value (as a quoted string, so
// YAML does not reinterpret it).
std::string file_with(const BadValue &bad) {
    YAML::Node root = YAML::Load(kMinimalYaml + bad.context);
    YAML::Node node = root;
    size_t start = 0;
    for (size_t dot = bad.path.find('.'); dot != std::string::npos;
         dot = bad.path.find('.', start)) {
        node.reset(node[bad.path.substr(start, dot - start)]);
        start = dot + 1;
    }
    node[bad.path.substr(start)] = bad.value;
    YAML::Emitter out;
    out << YAML::DoubleQuoted << root;
    return std::string(out.c_str()) + "\n";
}

std::string read_text(const std::string &path) {
    std::ifstream file(path);
    std::ostringstream content;
    content << file.rdbuf();
    return content.str();
}

}  // namespace

TEST(ConfigKeys, BadValueTableCoversEveryKey) {
    std::set<std::string> tested;
    for (const auto &bad : bad_values())
        tested.insert(bad.path);
    for (const auto &key : dfaas::config_keys())
        EXPECT_TRUE(tested.count(key.path)) << key.path << " has no bad-value test";
    EXPECT_EQ(tested.size(), dfaas::config_keys().size());
}

TEST(ConfigKeys, EveryBadValueFromTheFileNamesItsKey) {
    for (const auto &bad : bad_values()) {
        auto result = load_yaml(file_with(bad));
        EXPECT_TRUE(has_error(result, bad.path, {bad.reason, "from test.yaml line"}))
            << "file:\n"
            << file_with(bad);
    }
}

TEST(ConfigKeys, EveryBadValueFromTheEnvironmentNamesItsKeyAndVariable) {
    for (const auto &bad : bad_values()) {
        std::string variable = dfaas::generic_env_name(bad.path);
        std::string base = bad.path == "node.ip" ? "node:\n  id: n1\n" : kMinimalYaml;
        auto result = load_yaml(base + bad.context, {{variable, bad.value}});
        EXPECT_TRUE(has_error(result, bad.path, {bad.reason, "env " + variable}));
    }
}

TEST(ConfigKeys, GenericVariableNames) {
    EXPECT_EQ(dfaas::generic_env_name("strategy.nms.cpu_threshold"),
              "DFAAS_STRATEGY_NMS_CPU_THRESHOLD");
    EXPECT_EQ(dfaas::generic_env_name("node.id"), "DFAAS_NODE_ID");
}

TEST(ConfigKeys, EveryVariableNameBelongsToOneKey) {
    std::map<std::string, std::string> owner;
    for (const auto &key : dfaas::config_keys()) {
        ASSERT_FALSE(key.env.empty()) << key.path;
        EXPECT_EQ(key.env.front(), dfaas::generic_env_name(key.path));
        for (const auto &name : key.env) {
            auto [it, inserted] = owner.emplace(name, key.path);
            EXPECT_TRUE(inserted) << name << " used by " << it->second << " and " << key.path;
        }
    }
}

TEST(ConfigKeys, EveryKeyIsDocumented) {
    for (const auto &key : dfaas::config_keys()) {
        EXPECT_FALSE(key.type.empty()) << key.path;
        EXPECT_GT(key.description.size(), 20u) << key.path;
    }
}

TEST(ConfigKeys, JsonListingHasEveryKey) {
    YAML::Node listing = YAML::Load(dfaas::config_keys_json());  // JSON is YAML
    ASSERT_TRUE(listing.IsSequence());
    ASSERT_EQ(listing.size(), dfaas::config_keys().size());
    for (size_t i = 0; i < listing.size(); ++i) {
        const auto &key = dfaas::config_keys()[i];
        EXPECT_EQ(listing[i]["path"].as<std::string>(), key.path);
        EXPECT_EQ(listing[i]["default"].as<std::string>(), key.default_value);
        EXPECT_EQ(listing[i]["env"][0].as<std::string>(), key.env.front());
        EXPECT_EQ(listing[i]["description"].as<std::string>(), key.description);
    }
}

TEST(ConfigKeys, ReferenceDocumentMatchesTheKeyTable) {
    std::string doc = read_text(std::string(DFAAS_SOURCE_DIR) + "/docs/config-reference.md");
    EXPECT_NE(doc.find(dfaas::config_keys_markdown()), std::string::npos)
        << "docs/config-reference.md is out of date: replace its table with the output of "
           "`dfaas-config-keys --markdown` (built in <build>/userspace/agent/config/)";
}
