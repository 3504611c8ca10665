// dataplane.interfaces (issue 18): the uplink then client interfaces, one set of maps; the single
// dataplane.interface stays the one-element list, and the list wins when both are set.
#include <gtest/gtest.h>

#include "test_support.h"

using dfaas::Config;

TEST(DataplaneInterfaces, TheSingleKeyIsTheOneElementList) {
    Config config = load_ok(kMinimalYaml + "dataplane:\n  interface: ens3\n");
    EXPECT_TRUE(config.dataplane.interfaces.empty());
    EXPECT_EQ(config.dataplane.attach_interfaces(), std::vector<std::string>{"ens3"});
    EXPECT_EQ(config.dataplane.attach_interfaces(), std::vector<std::string>{"ens3"});
}

TEST(DataplaneInterfaces, AnEmptyListIsTheSingleKey) {
    Config config = load_ok(kMinimalYaml + "dataplane:\n  interface: ens3\n  interfaces: []\n");
    EXPECT_EQ(config.dataplane.attach_interfaces(), std::vector<std::string>{"ens3"});
}

TEST(DataplaneInterfaces, TheListWinsOverTheSingleKey) {
    Config config =
        load_ok(kMinimalYaml + "dataplane:\n  interface: ens3\n  interfaces: [eth0, cni0]\n");
    EXPECT_EQ(config.dataplane.attach_interfaces(), (std::vector<std::string>{"eth0", "cni0"}));
}

TEST(DataplaneInterfaces, FromTheEnvironmentCommaSeparated) {
    Config config = load_ok(kMinimalYaml, {{"DFAAS_DATAPLANE_INTERFACES", "eth0, cni0"}});
    EXPECT_EQ(config.dataplane.attach_interfaces(), (std::vector<std::string>{"eth0", "cni0"}));
}

TEST(DataplaneInterfaces, InvalidListsAreRefusedNamingTheKey) {
    EXPECT_TRUE(
        has_error(load_yaml(kMinimalYaml + "dataplane:\n  interfaces: [eth0, cni0, eth0]\n"),
                  "dataplane.interfaces", {"\"eth0\" (item 3)", "named twice"}));
    EXPECT_TRUE(has_error(load_yaml(kMinimalYaml + "dataplane:\n  interfaces: [eth0, a/b]\n"),
                          "dataplane.interfaces", {"\"a/b\" (item 2)", "interface name"}));
    std::string nine = "[i1, i2, i3, i4, i5, i6, i7, i8, i9]";
    EXPECT_TRUE(has_error(load_yaml(kMinimalYaml + "dataplane:\n  interfaces: " + nine + "\n"),
                          "dataplane.interfaces", {"9 interfaces, at most 8"}));
    std::string eight = "[i1, i2, i3, i4, i5, i6, i7, i8]";
    EXPECT_EQ(load_ok(kMinimalYaml + "dataplane:\n  interfaces: " + eight + "\n")
                  .dataplane.attach_interfaces()
                  .size(),
              8u);
}
