// Loading from a file: defaults, every section, JSON, and the structural mistakes.
#include <gtest/gtest.h>

#include "test_support.h"

using namespace std::chrono_literals;
using dfaas::Config;

TEST(ConfigFile, DefaultsWhenOnlyTheRequiredKeyIsSet) {
    Config config = load_ok(kMinimalYaml);
    EXPECT_EQ(config.node.id, "n1");
    EXPECT_EQ(config.node.id_file, "/var/lib/dfaas/node-id");
    EXPECT_EQ(config.node.ip.str(), "10.0.0.1");
    EXPECT_EQ(config.node.type, dfaas::NodeType::Mid);
    EXPECT_EQ(config.dataplane.interface, "eth0");
    EXPECT_EQ(config.dataplane.bpffs, "/sys/fs/bpf/dfaas");
    EXPECT_EQ(config.dataplane.gateway.str(), "10.0.0.1:8080");  // derived from node.ip
    EXPECT_EQ(config.dataplane.reject_mode, dfaas::RejectMode::Rst);
    EXPECT_EQ(config.dataplane.forward_mode, dfaas::ForwardMode::Encap);
    EXPECT_EQ(config.dataplane.mtu, 0u);
    EXPECT_EQ(config.dataplane.ct_entries, 262144u);
    EXPECT_EQ(config.dataplane.ct_timeouts.syn, 10s);
    EXPECT_EQ(config.dataplane.ct_timeouts.established, 1h);
    EXPECT_EQ(config.dataplane.ct_timeouts.closing, 10s);
    EXPECT_EQ(config.dataplane.syn_guard_rate, 20000u);
    EXPECT_EQ(config.dataplane.function_ports, (dfaas::PortRange{31000, 31999}));
    EXPECT_EQ(config.strategy.name, dfaas::StrategyKind::Recalc);
    EXPECT_EQ(config.strategy.period, 10s);
    EXPECT_DOUBLE_EQ(config.strategy.nms.cpu, 120);
    EXPECT_DOUBLE_EQ(config.strategy.nms.ram, 5.5e9);
    EXPECT_DOUBLE_EQ(config.strategy.nms.power, 2.1e6);
    EXPECT_EQ(config.strategy.group_file, "");
    EXPECT_FALSE(config.strategy.external.url);
    EXPECT_FALSE(config.strategy.external.explore);
    EXPECT_EQ(config.forecaster.mode, dfaas::ForecasterMode::Native);
    EXPECT_EQ(config.forecaster.variant, dfaas::ForecasterVariant::Regression);
    EXPECT_EQ(config.openfaas.url.str(), "http://127.0.0.1:8080");
    EXPECT_EQ(config.openfaas.timeout, 2s);
    EXPECT_EQ(config.prometheus.url.str(), "http://127.0.0.1:9090");
    EXPECT_EQ(config.prometheus.window, 20s);
    EXPECT_EQ(config.prometheus.scrape_interval, 5s);
    EXPECT_EQ(config.api.listen.str(), "127.0.0.1:9080");  // no api.token_file
    EXPECT_EQ(config.peers.listen_port, 30090);
    EXPECT_TRUE(config.peers.seeds.empty());
    EXPECT_EQ(config.peers.replay_window, 30s);
    EXPECT_EQ(config.peers.control_tick, 500ms);
    EXPECT_EQ(config.log.level, dfaas::LogLevel::Info);
}

TEST(ConfigFile, ReadsEverySection) {
    TempDir dir;
    std::string key = dir.write("cluster.key", "k3y\n");
    Config config = load_ok(kMinimalYaml + R"(  type: heavy
dataplane:
  interface: veth-n1
  gateway: 10.0.0.1:31112
  reject_mode: drop
  mtu: 1400
  ct_timeouts:
    syn: 5s
  function_ports: 32000-32099
strategy:
  name: nodemargin
  period: 1m30s
  nms:
    cpu_threshold: 235
    ram_threshold: 6.0e9
forecaster:
  mode: http
  url: http://forecaster:8000
  variant: quantile095
peers:
  seeds: [10.0.0.2:30090, 10.0.0.3:30090]
  cluster_key_file: )" + key +
                            R"(
log:
  level: debug
)");
    EXPECT_EQ(config.node.type, dfaas::NodeType::Heavy);
    EXPECT_EQ(config.dataplane.interface, "veth-n1");
    EXPECT_EQ(config.dataplane.gateway.str(), "10.0.0.1:31112");
    EXPECT_EQ(config.dataplane.reject_mode, dfaas::RejectMode::Drop);
    EXPECT_EQ(config.dataplane.mtu, 1400u);
    EXPECT_EQ(config.dataplane.ct_timeouts.syn, 5s);
    EXPECT_EQ(config.dataplane.ct_timeouts.closing, 10s);  // sibling keeps its default
    EXPECT_EQ(config.dataplane.function_ports, (dfaas::PortRange{32000, 32099}));
    EXPECT_EQ(config.strategy.name, dfaas::StrategyKind::NodeMargin);
    EXPECT_EQ(config.strategy.period, 90s);
    EXPECT_DOUBLE_EQ(config.strategy.nms.cpu, 235);
    EXPECT_DOUBLE_EQ(config.strategy.nms.ram, 6e9);
    EXPECT_EQ(config.forecaster.mode, dfaas::ForecasterMode::Http);
    EXPECT_EQ(config.forecaster.url->str(), "http://forecaster:8000");
    EXPECT_EQ(config.forecaster.variant, dfaas::ForecasterVariant::Quantile095);
    ASSERT_EQ(config.peers.seeds.size(), 2u);
    EXPECT_EQ(config.peers.seeds[1].str(), "10.0.0.3:30090");
    EXPECT_EQ(config.log.level, dfaas::LogLevel::Debug);
}

TEST(ConfigFile, JsonIsAccepted) {
    Config config = load_ok(R"({
	"node": {"id": "n1", "ip": "10.0.0.7", "type": 2},
	"strategy": {"name": "staticstrategy", "period": 30},
	"peers": {"seeds": []}
})");
    EXPECT_EQ(config.node.ip.str(), "10.0.0.7");
    EXPECT_EQ(config.node.type, dfaas::NodeType::Light);
    EXPECT_EQ(config.strategy.name, dfaas::StrategyKind::StaticWeights);
    EXPECT_EQ(config.strategy.period, 30s);
}

TEST(ConfigFile, ListsAlsoAcceptCommaSeparatedText) {
    TempDir dir;
    Config config = load_ok(kMinimalYaml +
                            "peers:\n  seeds: 10.0.0.2:30090, 10.0.0.3:30090\n"
                            "  cluster_key_file: " +
                            dir.write("key", "k") + "\n");
    EXPECT_EQ(config.peers.seeds.size(), 2u);
}

TEST(ConfigFile, NullValuesAndEmptySectionsKeepDefaults) {
    Config config = load_ok(kMinimalYaml + "strategy:\n  period:\n  name: ~\nlog:\n");
    EXPECT_EQ(config.strategy.period, 10s);
    EXPECT_EQ(config.strategy.name, dfaas::StrategyKind::Recalc);
}

TEST(ConfigFile, EmptyFileMeansDefaultsButNodeIpIsRequired) {
    auto result = load_yaml("");
    EXPECT_FALSE(result.ok());
    EXPECT_TRUE(has_error(result, "node.ip", {"required", "AGENT_NODE_IP"}));
    EXPECT_EQ(result.errors.size(), 1u) << all_errors(result);
}

TEST(ConfigFile, UnknownKeySuggestsTheClosestOne) {
    auto result = load_yaml(kMinimalYaml + "strategy:\n  perod: 10s\n");
    EXPECT_TRUE(has_error(result, "strategy.perod",
                          {"unknown key", "did you mean strategy.period?", "test.yaml line 5"}));
}

TEST(ConfigFile, KeyInTheWrongSectionSuggestsWhereItBelongs) {
    auto result = load_yaml(kMinimalYaml + "period: 10s\n");
    EXPECT_TRUE(has_error(result, "period", {"unknown key", "did you mean strategy.period?"}));
}

TEST(ConfigFile, KeyOfSeveralSectionsListsThemAll) {
    auto result = load_yaml(kMinimalYaml + "url: http://x\n");
    EXPECT_TRUE(has_error(result, "url",
                          {"did you mean strategy.external.url, forecaster.url, "
                           "openfaas.url or prometheus.url?"}));
}

TEST(ConfigFile, MisspeltSectionSuggestsTheSection) {
    auto result = load_yaml(kMinimalYaml + "stratgy:\n  name: recalc\n");
    EXPECT_TRUE(has_error(result, "stratgy", {"unknown key", "did you mean strategy?"}));
}

TEST(ConfigFile, AbbreviatedKeySuggestsTheFullOne) {
    auto result = load_yaml(kMinimalYaml + "strategy:\n  nms:\n    cpu: 100\n");
    EXPECT_TRUE(has_error(result, "strategy.nms.cpu",
                          {"unknown key; did you mean strategy.nms.cpu_threshold?"}));
}

TEST(ConfigFile, FarOffKeyListsTheValidKeysOfItsSection) {
    auto result = load_yaml(kMinimalYaml + "strategy:\n  nms:\n    gpu_limit: 100\n");
    EXPECT_TRUE(has_error(result, "strategy.nms.gpu_limit",
                          {"unknown key; valid keys under strategy.nms: cpu_threshold, "
                           "ram_threshold, power_threshold"}));
    auto top = load_yaml(kMinimalYaml + "metrics:\n  port: 1\n");
    EXPECT_TRUE(has_error(top, "metrics",
                          {"unknown key; valid keys at the top level: node, "
                           "dataplane, strategy"}));
}

TEST(ConfigFile, StructuralMistakesNameTheKey) {
    EXPECT_TRUE(
        has_error(load_yaml(kMinimalYaml + "strategy: recalc\n"), "strategy",
                  {"is a section (with name, period, nms, group_file, external, recalc, guard)"}));
    EXPECT_TRUE(has_error(load_yaml(kMinimalYaml + "log:\n  level: {a: 1}\n"), "log.level",
                          {"expected a single value", "got a mapping"}));
    EXPECT_TRUE(has_error(load_yaml(kMinimalYaml + "log:\n  level: [info, debug]\n"), "log.level",
                          {"expected a single value", "got a list"}));
    EXPECT_TRUE(has_error(load_yaml(kMinimalYaml + "peers:\n  seeds: [[1]]\n"), "peers.seeds",
                          {"every item must be a single value"}));
    EXPECT_TRUE(has_error(load_yaml(kMinimalYaml + "log:\n  level: info\n  level: debug\n"),
                          "log.level", {"given twice", "line 6"}));
}

TEST(ConfigFile, SyntaxErrorsGiveTheLine) {
    auto result = load_yaml(kMinimalYaml + "strategy: [recalc\n");
    ASSERT_EQ(result.errors.size(), 1u) << all_errors(result);
    EXPECT_NE(result.errors[0].find("test.yaml: not valid YAML or JSON at line"), std::string::npos)
        << result.errors[0];
}

TEST(ConfigFile, TopLevelMustBeAMapping) {
    auto list = load_yaml("- a\n- b\n");
    ASSERT_FALSE(list.ok());
    EXPECT_NE(
        list.errors[0].find("the top level must be a mapping of sections (node, dataplane, "
                            "strategy, forecaster, openfaas, prometheus, api, peers, entry, log)"),
        std::string::npos)
        << all_errors(list);
    auto documents = load_yaml(kMinimalYaml + "---\n" + kMinimalYaml);
    ASSERT_FALSE(documents.ok());
    EXPECT_NE(documents.errors[0].find("contains 2 YAML documents"), std::string::npos);
}

TEST(ConfigFile, AllProblemsAreReportedAtOnce) {
    auto result = load_yaml(kMinimalYaml +
                            "strategy:\n  period: -3s\n  name: fastest\nlog:\n"
                            "  level: loud\n");
    EXPECT_EQ(result.errors.size(), 3u) << all_errors(result);
    EXPECT_FALSE(result.config);
}

TEST(ConfigFile, TheBriefsExampleMessage) {
    auto result = load_yaml(kMinimalYaml + "strategy:\n  period: \"-3s\"\n");
    ASSERT_EQ(result.errors.size(), 1u) << all_errors(result);
    EXPECT_EQ(result.errors[0],
              "strategy.period: \"-3s\" is not a positive duration (from test.yaml line 5)");
}

TEST(ConfigFile, LoadsFromDiskAndReportsAMissingFile) {
    TempDir dir;
    auto loaded = dfaas::load_config(dir.write("agent.yaml", kMinimalYaml), {});
    EXPECT_TRUE(loaded.ok()) << all_errors(loaded);
    auto missing = dfaas::load_config(dir.path("absent.yaml"), {});
    ASSERT_EQ(missing.errors.size(), 1u);
    EXPECT_EQ(missing.errors[0], "config file " + dir.path("absent.yaml") +
                                     ": cannot open: No such file or directory");
    auto no_file = dfaas::load_config("", {{"AGENT_NODE_IP", "10.0.0.9"}});
    ASSERT_TRUE(no_file.ok()) << all_errors(no_file);
    EXPECT_EQ(no_file.config->node.ip.str(), "10.0.0.9");
}
