#include <gtest/gtest.h>

#include "dfaas/policy.h"

using dfaas::FunctionPolicy;
using dfaas::Ipv4;

TEST(FunctionPolicy, DefaultIsAllLocalAndValid) {
    FunctionPolicy p;
    EXPECT_EQ(p.local, 100u);
    EXPECT_EQ(p.reject, 0u);
    EXPECT_FALSE(p.validate());
    EXPECT_EQ(p, FunctionPolicy::all_local());
}

TEST(FunctionPolicy, RejectsWeightsOverHundred) {
    FunctionPolicy p;
    p.peers[*Ipv4::parse("10.0.0.2")] = 101;
    auto err = p.validate();
    ASSERT_TRUE(err);
    EXPECT_NE(err->find("10.0.0.2"), std::string::npos);
}

TEST(FunctionPolicy, RejectsAllZeroWeights) {
    FunctionPolicy p;
    p.local = 0;
    EXPECT_TRUE(p.validate());
    p.reject = 100;
    EXPECT_FALSE(p.validate());
}

TEST(FunctionPolicy, RejectsUnspecifiedPeer) {
    FunctionPolicy p;
    p.overflow[Ipv4{}] = 10;
    EXPECT_TRUE(p.validate());
}
