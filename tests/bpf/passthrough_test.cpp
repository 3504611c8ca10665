// Everything that is not ours passes untouched and is counted by reason; nothing is dropped by
// accident. The single-packet cases (not IPv4, not TCP, fragments, malformed headers, no
// service, no policy, steering off, egress not ours) are rows of packet_verdict_test.cpp; here
// what needs more than one packet.
#include "harness.h"

namespace dfaas::test {
namespace {

class Passthrough : public DataplaneTest {
  protected:
    void SetUp() override {
        DataplaneTest::SetUp();
        if (!IsSkipped()) install_figlet(FunctionPolicy::all_local());
    }
};

TEST_F(Passthrough, EveryPacketIsCounted) {
    ingress(ipv6_frame());
    ingress(user_syn().frame());
    egress(ipv6_frame());
    EXPECT_EQ(reason("pkt_ingress"), 2u);
    EXPECT_EQ(reason("pkt_egress"), 1u);
}

}  // namespace
}  // namespace dfaas::test
