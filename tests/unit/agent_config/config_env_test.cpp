// Environment overrides: generic DFAAS_* names, the reference's AGENT_* names, precedence.
#include <gtest/gtest.h>

#include "test_support.h"

using namespace std::chrono_literals;
using dfaas::Config;

TEST(ConfigEnv, GenericNamesOverrideTheFile) {
    Config config = load_ok(kMinimalYaml + "strategy:\n  period: 20s\n",
                            {{"DFAAS_STRATEGY_PERIOD", "30s"},
                             {"DFAAS_STRATEGY_NMS_CPU_THRESHOLD", "190"},
                             {"DFAAS_DATAPLANE_CT_TIMEOUTS_ESTABLISHED", "2h"},
                             {"DFAAS_NODE_IP", "10.0.0.2"}});
    EXPECT_EQ(config.strategy.period, 30s);
    EXPECT_DOUBLE_EQ(config.strategy.nms.cpu, 190);
    EXPECT_EQ(config.dataplane.ct_timeouts.established, 2h);
    EXPECT_EQ(config.node.ip.str(), "10.0.0.2");
}

TEST(ConfigEnv, ReferenceAgentNames) {
    TempDir dir;
    std::string groups = dir.write("group_list.json", R"({"HIGH_USAGE":["nmap"]})");
    Config config = load_ok("", {{"AGENT_NODE_IP", "192.168.1.10"},
                                 {"DFAAS_NODE_ID", "edge-1"},
                                 {"AGENT_NODE_TYPE", "2"},
                                 {"AGENT_STRATEGY", "nodemarginstrategy"},
                                 {"AGENT_RECALC_PERIOD", "1m"},
                                 {"AGENT_NMS_CPU_THRESHOLD", "104.0"},
                                 {"AGENT_NMS_RAM_THRESHOLD", "4100000000.0"},
                                 {"AGENT_NMS_POWER_THRESHOLD", "700000.0"},
                                 {"AGENT_GROUP_LIST_FILE_NAME", groups},
                                 {"AGENT_LOG_LEVEL", "warn"},
                                 {"DFAAS_FORECASTER_MODELS_DIR", dir.path()},
                                 {"DFAAS_INTERFACE", "ens3"}});
    EXPECT_EQ(config.node.ip.str(), "192.168.1.10");
    EXPECT_EQ(config.node.id, "edge-1");
    EXPECT_EQ(config.node.type, dfaas::NodeType::Light);
    EXPECT_EQ(config.strategy.name, dfaas::StrategyKind::NodeMargin);
    EXPECT_EQ(config.strategy.period, 1min);
    EXPECT_DOUBLE_EQ(config.strategy.nms.cpu, 104);
    EXPECT_DOUBLE_EQ(config.strategy.nms.ram, 4.1e9);
    EXPECT_DOUBLE_EQ(config.strategy.nms.power, 7e5);
    EXPECT_EQ(config.strategy.group_file, groups);
    EXPECT_EQ(config.strategy.groups.at("nmap"), dfaas::FunctionGroup::High);
    EXPECT_EQ(config.log.level, dfaas::LogLevel::Warn);
    EXPECT_EQ(config.dataplane.interface, "ens3");
}

TEST(ConfigEnv, ReferenceStrategyNamesMapToOurs) {
    struct Case {
        const char *reference;
        dfaas::StrategyKind kind;
    };
    for (Case c : {Case{"recalcstrategy", dfaas::StrategyKind::Recalc},
                   Case{"staticstrategy", dfaas::StrategyKind::StaticWeights},
                   Case{"alllocalstrategy", dfaas::StrategyKind::AllLocal},
                   Case{"RecalcStrategy", dfaas::StrategyKind::Recalc}}) {
        Config config = load_ok(kMinimalYaml, {{"AGENT_STRATEGY", c.reference}});
        EXPECT_EQ(config.strategy.name, c.kind) << c.reference;
    }
    Config external = load_ok(kMinimalYaml, {{"AGENT_STRATEGY", "rlagentstrategy"},
                                             {"DFAAS_STRATEGY_EXTERNAL_URL", "http://rl:6666"}});
    EXPECT_EQ(external.strategy.name, dfaas::StrategyKind::External);
}

TEST(ConfigEnv, ReferenceExploreSwitch) {
    // The reference's AGENT_RLMODEL_EXPLORE (any case) and the generic name.
    EXPECT_TRUE(
        load_ok(kMinimalYaml, {{"AGENT_RLMODEL_EXPLORE", "True"}}).strategy.external.explore);
    EXPECT_FALSE(load_ok(kMinimalYaml, {{"DFAAS_STRATEGY_EXTERNAL_EXPLORE", "false"}})
                     .strategy.external.explore);
    EXPECT_TRUE(has_error(load_yaml(kMinimalYaml, {{"AGENT_RLMODEL_EXPLORE", "2"}}),
                          "strategy.external.explore",
                          {"\"2\" is not a boolean", "env AGENT_RLMODEL_EXPLORE"}));
}

TEST(ConfigEnv, UnknownStrategyListsTheValidNames) {
    auto result = load_yaml(kMinimalYaml, {{"AGENT_STRATEGY", "roundrobin"}});
    EXPECT_TRUE(has_error(result, "strategy.name",
                          {"\"roundrobin\" is not one of recalc, nodemargin, static, alllocal, "
                           "external (also accepted: recalcstrategy, nodemarginstrategy, "
                           "staticstrategy, alllocalstrategy, rlagentstrategy)",
                           "(from env AGENT_STRATEGY)"}));
}

TEST(ConfigEnv, OpenFaasHostAndPortCombineIntoTheUrl) {
    Config both = load_ok(kMinimalYaml,
                          {{"AGENT_OPENFAAS_HOST", "gateway"}, {"AGENT_OPENFAAS_PORT", "8081"}});
    EXPECT_EQ(both.openfaas.url.str(), "http://gateway:8081");
    Config host_only = load_ok(kMinimalYaml, {{"AGENT_OPENFAAS_HOST", "gateway.openfaas"}});
    EXPECT_EQ(host_only.openfaas.url.str(), "http://gateway.openfaas:8080");
    Config port_only = load_ok(kMinimalYaml + "openfaas:\n  url: http://10.0.0.1:8080/prefix\n",
                               {{"AGENT_OPENFAAS_PORT", "31112"}});
    EXPECT_EQ(port_only.openfaas.url.str(), "http://10.0.0.1:31112/prefix");
}

TEST(ConfigEnv, PrometheusHostAndPortCombineIntoTheUrl) {
    Config config =
        load_ok(kMinimalYaml, {{"AGENT_PROMETHEUS_HOST", "prometheus.default.svc.cluster.local"},
                               {"AGENT_PROMETHEUS_PORT", "80"}});
    EXPECT_EQ(config.prometheus.url.str(), "http://prometheus.default.svc.cluster.local:80");
}

TEST(ConfigEnv, BadHostOrPortNamesTheVariable) {
    EXPECT_TRUE(has_error(load_yaml(kMinimalYaml, {{"AGENT_OPENFAAS_PORT", "eighty"}}),
                          "openfaas.url", {"port \"eighty\"", "env AGENT_OPENFAAS_PORT"}));
    EXPECT_TRUE(has_error(load_yaml(kMinimalYaml, {{"AGENT_PROMETHEUS_HOST", "http://prom"}}),
                          "prometheus.url",
                          {"AGENT_PROMETHEUS_HOST=\"http://prom\"", "without scheme"}));
}

TEST(ConfigEnv, GenericUrlAndHostPortMustAgree) {
    Config same = load_ok(kMinimalYaml, {{"DFAAS_OPENFAAS_URL", "http://gateway:8080"},
                                         {"AGENT_OPENFAAS_HOST", "gateway"}});
    EXPECT_EQ(same.openfaas.url.str(), "http://gateway:8080");
    auto different = load_yaml(kMinimalYaml, {{"DFAAS_OPENFAAS_URL", "http://gateway:8080"},
                                              {"AGENT_OPENFAAS_HOST", "other"}});
    EXPECT_TRUE(has_error(different, "openfaas.url",
                          {"DFAAS_OPENFAAS_URL", "AGENT_OPENFAAS_HOST", "disagree; set only one"}));
}

TEST(ConfigEnv, TwoNamesOfOneKeyMustAgree) {
    Config same =
        load_ok(kMinimalYaml, {{"DFAAS_STRATEGY_NAME", "static"}, {"AGENT_STRATEGY", "static"}});
    EXPECT_EQ(same.strategy.name, dfaas::StrategyKind::StaticWeights);
    auto different = load_yaml(
        kMinimalYaml, {{"DFAAS_STRATEGY_NAME", "static"}, {"AGENT_STRATEGY", "recalcstrategy"}});
    EXPECT_TRUE(has_error(different, "strategy.name",
                          {"DFAAS_STRATEGY_NAME=\"static\" and AGENT_STRATEGY=\"recalcstrategy\" "
                           "disagree; set only one"}));
}

TEST(ConfigEnv, EmptyVariablesCountAsUnset) {
    Config config = load_ok(kMinimalYaml + "strategy:\n  period: 20s\n",
                            {{"AGENT_RECALC_PERIOD", ""}, {"DFAAS_STRATEGY_NAME", ""}});
    EXPECT_EQ(config.strategy.period, 20s);
}

TEST(ConfigEnv, ListsAreCommaSeparated) {
    TempDir dir;
    Config config =
        load_ok(kMinimalYaml, {{"DFAAS_PEERS_SEEDS", "10.0.0.2:30090, 10.0.0.3:30091"},
                               {"DFAAS_PEERS_CLUSTER_KEY_FILE", dir.write("k", "key")}});
    ASSERT_EQ(config.peers.seeds.size(), 2u);
    EXPECT_EQ(config.peers.seeds[0].str(), "10.0.0.2:30090");
    EXPECT_EQ(config.peers.seeds[1].str(), "10.0.0.3:30091");
    auto bad = load_yaml(kMinimalYaml, {{"DFAAS_PEERS_SEEDS", "10.0.0.2:30090,,10.0.0.3:1"}});
    EXPECT_TRUE(has_error(bad, "peers.seeds", {"\"\" (item 2)", "env DFAAS_PEERS_SEEDS"}));
}

TEST(ConfigEnv, UnknownDfaasVariablesAreWarnedAbout) {
    auto result = load_yaml(kMinimalYaml, {{"DFAAS_STRATEGY_PERIDO", "10s"}, {"HOME", "/root"}});
    ASSERT_TRUE(result.ok()) << all_errors(result);
    ASSERT_EQ(result.warnings.size(), 1u);
    EXPECT_EQ(result.warnings[0],
              "environment variable DFAAS_STRATEGY_PERIDO is not a configuration key (ignored); "
              "did you mean DFAAS_STRATEGY_PERIOD?");
}

TEST(ConfigEnv, ProcessEnvironmentIsReadable) {
    ::setenv("DFAAS_TEST_MARKER", "x=y", 1);
    auto env = dfaas::process_environment();
    ::unsetenv("DFAAS_TEST_MARKER");
    EXPECT_EQ(env.at("DFAAS_TEST_MARKER"), "x=y");
}
