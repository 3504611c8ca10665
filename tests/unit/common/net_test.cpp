#include <gtest/gtest.h>

#include "dfaas/net.h"

using dfaas::Endpoint;
using dfaas::Ipv4;

TEST(Ipv4, ParsesDottedQuadAndRoundTrips) {
    auto a = Ipv4::parse("10.1.2.3");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->value, 0x0a010203u);
    EXPECT_EQ(a->str(), "10.1.2.3");
    EXPECT_EQ(Ipv4::from_network(a->network()), *a);
}

TEST(Ipv4, RejectsMalformed) {
    for (const char *bad : {"", "10.1.2", "10.1.2.3.4", "256.1.1.1", "a.b.c.d", "10.1.2.3 ", "::1"})
        EXPECT_FALSE(Ipv4::parse(bad)) << bad;
}

TEST(Endpoint, ParsesAddressAndPort) {
    auto e = Endpoint::parse("192.168.0.1:8080");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->addr.str(), "192.168.0.1");
    EXPECT_EQ(e->port, 8080);
    EXPECT_EQ(e->str(), "192.168.0.1:8080");
}

TEST(Endpoint, RejectsBadPorts) {
    for (const char *bad :
         {"1.2.3.4", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:80x", "1.2.3.4:-1", "x:80"})
        EXPECT_FALSE(Endpoint::parse(bad)) << bad;
}
