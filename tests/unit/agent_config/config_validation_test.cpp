// Rules spanning several keys, and the files the configuration points to.
#include <gtest/gtest.h>

#include "test_support.h"

using namespace std::chrono_literals;

TEST(ConfigValidation, WindowMustCoverThreeScrapes) {
    EXPECT_TRUE(has_error(
        load_yaml(kMinimalYaml + "prometheus:\n  scrape_interval: 10s\n"), "prometheus.window",
        {"20s covers fewer than 3 scrapes",
         ">= 3 x prometheus.scrape_interval (10s, from test.yaml line 5) = 30s"}));
    auto exact = load_yaml(kMinimalYaml + "prometheus:\n  window: 15s\n");
    EXPECT_TRUE(exact.ok()) << all_errors(exact);
}

TEST(ConfigValidation, OneBadKeyGivesOneError) {
    // The window check needs the scrape interval; when that is invalid only its own error shows.
    auto result = load_yaml(kMinimalYaml + "prometheus:\n  scrape_interval: often\n");
    ASSERT_EQ(result.errors.size(), 1u) << all_errors(result);
    EXPECT_TRUE(has_error(result, "prometheus.scrape_interval", {"is not a duration"}));
}

TEST(ConfigValidation, TimeoutsMustBeShorterThanThePeriod) {
    auto result = load_yaml(kMinimalYaml + "strategy:\n  period: 2s\n");
    for (const char *key : {"openfaas.timeout", "prometheus.timeout", "forecaster.timeout",
                            "strategy.external.timeout"})
        EXPECT_TRUE(has_error(
            result, key, {"2s is not shorter than strategy.period (2s, from test.yaml line 5)"}));
}

TEST(ConfigValidation, ControlTickAtMostThePeriod) {
    EXPECT_TRUE(has_error(load_yaml(kMinimalYaml + "peers:\n  control_tick: 11s\n"),
                          "peers.control_tick", {"11s is longer than strategy.period (10s)"}));
}

TEST(ConfigValidation, PeriodHasAMinimum) {
    EXPECT_TRUE(has_error(load_yaml(kMinimalYaml + "strategy:\n  period: 500ms\n"),
                          "strategy.period", {"is shorter than the minimum 1s"}));
}

TEST(ConfigValidation, ServicePortsMustBeOutsideTheFunctionPorts) {
    auto result = load_yaml(kMinimalYaml +
                            "dataplane:\n  function_ports: 30000-30100\n  gateway: 10.0.0.1:30001\n"
                            "api:\n  listen: 0.0.0.0:30002\n");
    EXPECT_TRUE(has_error(
        result, "peers.listen_port",
        {"port 30090 is inside dataplane.function_ports (30000-30100, from test.yaml line"}));
    EXPECT_TRUE(has_error(result, "api.listen", {"port 30002 is inside"}));
    EXPECT_TRUE(has_error(result, "dataplane.gateway", {"port 30001 is inside"}));
    EXPECT_TRUE(has_error(load_yaml(kMinimalYaml + "api:\n  listen: 127.0.0.1:30090\n"),
                          "api.listen", {"same port as peers.listen_port (30090)"}));
}

TEST(ConfigValidation, NodeIpMustBeUnicast) {
    for (const char *ip : {"0.0.0.0", "255.255.255.255", "224.0.0.1"})
        EXPECT_TRUE(has_error(load_yaml("node:\n  id: n1\n  ip: " + std::string(ip) + "\n"),
                              "node.ip", {"is not a unicast address"}))
            << ip;
}

TEST(ConfigValidation, ConntrackTimeoutsBelowEstablished) {
    EXPECT_TRUE(has_error(load_yaml(kMinimalYaml + "dataplane:\n  ct_timeouts:\n    syn: 2h\n"),
                          "dataplane.ct_timeouts.syn",
                          {"2h is longer than dataplane.ct_timeouts.established (1h)"}));
}

TEST(ConfigValidation, ExternalStrategyNeedsAUrl) {
    EXPECT_TRUE(has_error(load_yaml(kMinimalYaml + "strategy:\n  name: external\n"),
                          "strategy.external.url", {"required when strategy.name is external"}));
}

TEST(ConfigValidation, HttpForecasterNeedsAUrl) {
    EXPECT_TRUE(has_error(load_yaml(kMinimalYaml + "forecaster:\n  mode: http\n"), "forecaster.url",
                          {"required when forecaster.mode is http"}));
}

TEST(ConfigValidation, NodeMarginWithNativeForecasterNeedsTheModels) {
    TempDir dir;
    auto ok =
        load_yaml(kMinimalYaml +
                  "strategy:\n  name: nodemargin\nforecaster:\n  models_dir: " + dir.path() + "\n");
    EXPECT_TRUE(ok.ok()) << all_errors(ok);
    auto recalc = load_yaml(kMinimalYaml + "forecaster:\n  models_dir: /nonexistent\n");
    EXPECT_TRUE(recalc.ok()) << "only nodemargin needs the models" << all_errors(recalc);
}

TEST(ConfigValidation, BasicAuthNeedsUserAndPasswordFile) {
    TempDir dir;
    std::string password = dir.write("password", "  s3cret \n");
    auto complete = load_yaml(kMinimalYaml +
                              "openfaas:\n  username: admin\n  password_file: " + password + "\n");
    EXPECT_TRUE(complete.ok()) << all_errors(complete);
    EXPECT_TRUE(has_error(load_yaml(kMinimalYaml + "openfaas:\n  username: admin\n"),
                          "openfaas.password_file", {"required when openfaas.username is set"}));
    EXPECT_TRUE(
        has_error(load_yaml(kMinimalYaml + "openfaas:\n  password_file: " + password + "\n"),
                  "openfaas.username", {"required when openfaas.password_file is set"}));
}

TEST(ConfigValidation, SecretFilesMustHoldSomething) {
    TempDir dir;
    std::string empty = dir.write("empty-token", " \n");
    EXPECT_TRUE(has_error(load_yaml(kMinimalYaml + "api:\n  token_file: " + empty + "\n"),
                          "api.token_file", {"is empty"}));
    EXPECT_TRUE(has_error(load_yaml(kMinimalYaml + "api:\n  token_file: " + dir.path() + "\n"),
                          "api.token_file", {"is a directory"}));
}

TEST(ConfigValidation, SeedsNeedTheClusterKey) {
    EXPECT_TRUE(has_error(load_yaml(kMinimalYaml + "peers:\n  seeds: [10.0.0.2:30090]\n"),
                          "peers.cluster_key_file", {"required when peers.seeds is set"}));
}

TEST(ConfigValidation, SecretFileContentIsTrimmed) {
    TempDir dir;
    auto secret = dfaas::read_secret_file(dir.write("password", "\n  s3cret \t\n"));
    ASSERT_TRUE(secret) << secret.error();
    EXPECT_EQ(*secret, "s3cret");
    auto missing = dfaas::read_secret_file(dir.path("absent"));
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error(),
              "cannot read \"" + dir.path("absent") + "\": No such file or directory");
}

TEST(ConfigValidation, SideFilesAreBoundedBeforeTheyAreRead) {
    TempDir dir;
    const std::string at_limit(1 << 20, 'k');
    auto ok = dfaas::read_secret_file(dir.write("limit", at_limit));
    ASSERT_TRUE(ok) << ok.error();
    EXPECT_EQ(ok->size(), at_limit.size());
    auto over = dfaas::read_secret_file(dir.write("over", at_limit + "k"));
    ASSERT_FALSE(over);
    EXPECT_NE(over.error().find("larger than 1 MiB"), std::string::npos) << over.error();
    // A device reports size 0 and never ends: refused without reading.
    auto device = dfaas::read_secret_file("/dev/zero");
    ASSERT_FALSE(device);
    EXPECT_NE(device.error().find("not a regular file"), std::string::npos) << device.error();
    auto group = dfaas::load_group_file("/dev/zero");
    ASSERT_FALSE(group);
}

TEST(ConfigValidation, GroupFileIsLoaded) {
    TempDir dir;
    std::string file = dir.write("groups.json", R"({"HIGH_USAGE":["eat-memory","nmap"],
        "LOW_USAGE":["env","figlet","shasum"],"MEDIUM_USAGE":["curl"]})");
    dfaas::Config config = load_ok(kMinimalYaml + "strategy:\n  group_file: " + file + "\n");
    EXPECT_EQ(config.strategy.groups.size(), 6u);
    EXPECT_EQ(config.strategy.groups.at("curl"), dfaas::FunctionGroup::Medium);
    EXPECT_EQ(config.strategy.groups.at("figlet"), dfaas::FunctionGroup::Low);
}

TEST(ConfigValidation, BadGroupFilesAreErrorsOfTheKey) {
    TempDir dir;
    struct Case {
        const char *content;
        const char *reason;
    };
    for (Case c : {Case{"{\"HIGH_USAGE\": [\"a\"", "is not valid JSON"},
                   Case{"[\"a\"]", "must be a JSON object"},
                   Case{"{\"HUGE\": [\"a\"]}", "unknown group \"HUGE\""},
                   Case{"{\"LOW_USAGE\": \"a\"}", "LOW_USAGE must be a list"},
                   Case{"{\"LOW_USAGE\": [1]}", "LOW_USAGE contains 1"},
                   Case{"{\"LOW_USAGE\": [\"a\"], \"HIGH_USAGE\": [\"a\"]}", "\"a\" is in both"}}) {
        std::string file = dir.write("groups.json", c.content);
        EXPECT_TRUE(has_error(load_yaml(kMinimalYaml + "strategy:\n  group_file: " + file + "\n"),
                              "strategy.group_file", {c.reason}))
            << c.content;
    }
}
