// The node id is stable: configured, or kept in node.id_file (created once).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "dfaas/config/node_id.h"
#include "test_support.h"

using dfaas::NodeIdFile;
using dfaas::resolve_node_id;

namespace {

dfaas::NodeConfig node_with_file(const std::string &file, const std::string &id = "") {
    dfaas::NodeConfig node;
    node.id = id;
    node.id_file = file;
    return node;
}

}  // namespace

TEST(NodeId, ConfiguredIdWinsAndTheFileIsUntouched) {
    TempDir dir;
    auto id =
        resolve_node_id(node_with_file(dir.path("id"), "edge-1"), NodeIdFile::CreateIfMissing);
    ASSERT_TRUE(id) << id.error();
    EXPECT_EQ(*id, "edge-1");
    EXPECT_FALSE(std::filesystem::exists(dir.path("id")));
}

TEST(NodeId, CreatedOnceThenStableAcrossRestarts) {
    TempDir dir;
    auto node = node_with_file(dir.path("nested/dir/node-id"));
    auto first = resolve_node_id(node, NodeIdFile::CreateIfMissing);
    ASSERT_TRUE(first) << first.error();
    EXPECT_TRUE(dfaas::is_valid_node_id(*first)) << *first;
    auto second = resolve_node_id(node, NodeIdFile::CreateIfMissing);
    ASSERT_TRUE(second) << second.error();
    EXPECT_EQ(*first, *second);
    auto read_only = resolve_node_id(node, NodeIdFile::ReadOnly);
    ASSERT_TRUE(read_only) << read_only.error();
    EXPECT_EQ(*read_only, *first);
}

TEST(NodeId, ReadOnlyNeverCreates) {
    TempDir dir;
    auto id = resolve_node_id(node_with_file(dir.path("node-id")), NodeIdFile::ReadOnly);
    ASSERT_FALSE(id);
    EXPECT_EQ(id.error(), "node.id_file: " + dir.path("node-id") +
                              ": does not exist yet (the agent creates it at its first start)");
    EXPECT_FALSE(std::filesystem::exists(dir.path("node-id")));
}

TEST(NodeId, FileContentIsTrimmedAndValidated) {
    TempDir dir;
    auto good =
        resolve_node_id(node_with_file(dir.write("id", "  edge-9\n")), NodeIdFile::ReadOnly);
    ASSERT_TRUE(good) << good.error();
    EXPECT_EQ(*good, "edge-9");
    auto bad = resolve_node_id(node_with_file(dir.write("bad", "not an id\n")),
                               NodeIdFile::CreateIfMissing);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().find("holds \"not an id\", not a node id"), std::string::npos)
        << bad.error();
}

TEST(NodeId, UnwritableLocationIsAnErrorNamingTheKey) {
    TempDir dir;
    std::string blocker = dir.write("file", "x");  // a file where a directory is needed
    auto id = resolve_node_id(node_with_file(blocker + "/node-id"), NodeIdFile::CreateIfMissing);
    ASSERT_FALSE(id);
    EXPECT_EQ(id.error().rfind("node.id_file: " + blocker + "/node-id: ", 0), 0u) << id.error();
}

TEST(NodeId, GeneratedIdsDiffer) {
    EXPECT_NE(dfaas::generate_node_id(), dfaas::generate_node_id());
    EXPECT_TRUE(dfaas::is_valid_node_id(dfaas::generate_node_id()));
}

TEST(NodeId, Validity) {
    for (const char *good : {"n1", "edge-1.lab_a", "0abc"})
        EXPECT_TRUE(dfaas::is_valid_node_id(good)) << good;
    for (const char *bad : {"", "-lead", ".x", "has space", "x/y", "a:b"})
        EXPECT_FALSE(dfaas::is_valid_node_id(bad)) << bad;
    EXPECT_FALSE(dfaas::is_valid_node_id(std::string(64, 'a')));
    EXPECT_TRUE(dfaas::is_valid_node_id(std::string(63, 'a')));
}
