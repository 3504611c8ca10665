// The entry port's keys (issue 18): defaults, the values reaching the Config, and the port's
// clashes with the agent's other listeners and the function ports, each error naming entry.port.
#include <gtest/gtest.h>

#include "test_support.h"

using namespace std::chrono_literals;

TEST(EntryKeys, Defaults) {
    dfaas::Config config = load_ok(kMinimalYaml);
    EXPECT_TRUE(config.entry.enabled);
    EXPECT_EQ(config.entry.port, 30080);
    EXPECT_EQ(config.entry.max_connections, 4096u);
    EXPECT_EQ(config.entry.head_timeout, 5s);
    EXPECT_EQ(config.entry.max_head_bytes, 8192u);
    EXPECT_EQ(config.entry.idle_timeout, 60s);
}

TEST(EntryKeys, ValuesReachTheConfig) {
    dfaas::Config config = load_ok(kMinimalYaml +
                                   "entry:\n  enabled: false\n  port: 8000\n  max_connections: 10\n"
                                   "  head_timeout: 250ms\n  max_head_bytes: 1024\n"
                                   "  idle_timeout: 2m\n");
    EXPECT_FALSE(config.entry.enabled);
    EXPECT_EQ(config.entry.port, 8000);
    EXPECT_EQ(config.entry.max_connections, 10u);
    EXPECT_EQ(config.entry.head_timeout, 250ms);
    EXPECT_EQ(config.entry.max_head_bytes, 1024u);
    EXPECT_EQ(config.entry.idle_timeout, 2min);
    EXPECT_TRUE(has_error(load_yaml(kMinimalYaml + "entry: {idle_timeout: 99ms}\n"),
                          "entry.idle_timeout", {}));
    EXPECT_TRUE(has_error(load_yaml(kMinimalYaml + "entry: {idle_timeout: 61m}\n"),
                          "entry.idle_timeout", {}));
}

TEST(EntryKeys, ThePortMustNotClash) {
    EXPECT_TRUE(has_error(load_yaml(kMinimalYaml + "entry: {port: 30090}\n"), "entry.port",
                          {"uses the same port as peers.listen_port"}));
    EXPECT_TRUE(has_error(load_yaml(kMinimalYaml + "entry: {port: 9080}\n"), "entry.port",
                          {"uses the same port as api.listen"}));
    EXPECT_TRUE(has_error(load_yaml(kMinimalYaml + "entry: {port: 9081}\n"), "entry.port",
                          {"uses the same port as api.health_listen"}));
    EXPECT_TRUE(has_error(load_yaml(kMinimalYaml + "entry: {port: 8080}\n"), "entry.port",
                          {"uses the same port as dataplane.gateway"}));
    EXPECT_TRUE(has_error(load_yaml(kMinimalYaml + "entry: {port: 31000}\n"), "entry.port",
                          {"is inside dataplane.function_ports"}));
    // A disabled entry port clashes with nothing.
    EXPECT_TRUE(load_yaml(kMinimalYaml + "entry: {enabled: false, port: 30090}\n").ok());
}
