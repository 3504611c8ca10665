// dump_effective: every key, secrets never included, and loading the dump gives the same Config.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "dfaas/config/config_keys.h"
#include "test_support.h"

namespace {

// A file setting every key to something other than its default.
std::string everything_changed(const TempDir &dir) {
    return "node:\n  id: edge-7\n  id_file: " + dir.path("id") +
           "\n  ip: 10.1.2.3\n  type: light\n"
           "dataplane:\n  interface: veth0\n  bpffs: /sys/fs/bpf/other\n  gateway: 10.1.2.3:31112\n"
           "  reject_mode: drop\n  mtu: 1450\n  ct_entries: 65536\n"
           "  ct_timeouts: {syn: 3s, established: 30m, closing: 1500ms}\n"
           "  syn_guard_rate: 0\n  function_ports: 32000-32010\n"
           "strategy:\n  name: external\n  period: 1m\n"
           "  nms: {cpu_threshold: 104.5, ram_threshold: 4.1e9, power_threshold: 700000}\n"
           "  group_file: " +
           dir.write("groups.json", R"({"LOW_USAGE":["figlet"]})") +
           "\n"
           "  external: {url: 'http://rl-model:6666/predict', timeout: 4s}\n"
           "forecaster:\n  mode: http\n  models_dir: /opt/models\n  variant: quantile005\n"
           "  url: http://[fd00::1]:8000\n  timeout: 3s\n"
           "openfaas:\n  url: https://gateway.openfaas:8443/base\n  username: admin\n"
           "  password_file: " +
           dir.write("password", "pw") +
           "\n  timeout: 5s\n"
           "prometheus:\n  url: http://prometheus:80\n  timeout: 1s\n  window: 1m\n"
           "  scrape_interval: 15s\n"
           "  node_cpu_query: '100 * "
           "sum(rate(container_cpu_usage_seconds_total{id=\"/\"}[$window]))'\n"
           "  node_ram_query: \"sum(container_memory_working_set_bytes{id='/'}) # bytes: yes\"\n"
           "api:\n  listen: 127.0.0.1:9999\n  token_file: " +
           dir.write("token", "t") +
           "\n"
           "peers:\n  listen_port: 30500\n  seeds: [10.1.2.4:30500, 10.1.2.5:30500]\n"
           "  cluster_key_file: " +
           dir.write("key", "k") +
           "\n  replay_window: 10s\n"
           "  control_tick: 250ms\n"
           "log:\n  level: trace\n";
}

}  // namespace

TEST(DumpEffective, ContainsEveryKey) {
    dfaas::Config config = load_ok(kMinimalYaml);
    YAML::Node dump = YAML::Load(dfaas::dump_effective(config));
    for (const auto &key : dfaas::config_keys()) {
        YAML::Node node = dump;
        size_t start = 0;
        for (size_t dot = key.path.find('.'); dot != std::string::npos;
             dot = key.path.find('.', start)) {
            node.reset(node[key.path.substr(start, dot - start)]);
            ASSERT_TRUE(node.IsMap()) << key.path;
            start = dot + 1;
        }
        EXPECT_TRUE(node[key.path.substr(start)].IsDefined()) << key.path;
    }
}

TEST(DumpEffective, DefaultsRoundTrip) {
    dfaas::Config config = load_ok(kMinimalYaml);
    std::string dump = dfaas::dump_effective(config);
    auto again = load_yaml(dump);
    ASSERT_TRUE(again.ok()) << all_errors(again) << "\n" << dump;
    EXPECT_EQ(*again.config, config) << dump;
}

TEST(DumpEffective, EveryKeyChangedRoundTrips) {
    TempDir dir;
    dfaas::Config config = load_ok(everything_changed(dir));
    dfaas::Config defaults = load_ok(kMinimalYaml);
    EXPECT_NE(config.dataplane, defaults.dataplane);
    std::string dump = dfaas::dump_effective(config);
    auto again = load_yaml(dump);
    ASSERT_TRUE(again.ok()) << all_errors(again) << "\n" << dump;
    EXPECT_EQ(*again.config, config) << dump;
    EXPECT_EQ(again.config->prometheus.node_ram_query,
              "sum(container_memory_working_set_bytes{id='/'}) # bytes: yes");
}

TEST(DumpEffective, PrintsSecretFilePathsNotTheirContent) {
    TempDir dir;
    std::string password = dir.write("password", "do-not-print-me");
    dfaas::Config config =
        load_ok(kMinimalYaml + "openfaas:\n  username: admin\n  password_file: " + password + "\n");
    std::string dump = dfaas::dump_effective(config);
    EXPECT_NE(dump.find(password), std::string::npos);
    EXPECT_EQ(dump.find("do-not-print-me"), std::string::npos);
}

TEST(DumpEffective, ReadsLikeTheDocumentedDefaults) {
    std::string dump = dfaas::dump_effective(load_ok(kMinimalYaml));
    EXPECT_NE(dump.find("  period: 10s\n"), std::string::npos) << dump;
    EXPECT_NE(dump.find("  gateway: 10.0.0.1:8080\n"), std::string::npos) << dump;
    EXPECT_NE(dump.find("  type: mid\n"), std::string::npos) << dump;
    EXPECT_NE(dump.find("  seeds: []\n"), std::string::npos) << dump;
}
