// The test packet parser itself (no root needed): it reads every frame the programs put out,
// including the malformed ones they pass on untouched, so it must report a bad header as
// `malformed`, never throw or read past the frame (issue 14: an inner IPv4 header with a total
// length below IHL * 4 made it throw).
#include <gtest/gtest.h>

#include <string>

#include "harness.h"

namespace dfaas::test {
namespace {

constexpr size_t kEth = 14;

Bytes with_byte(Bytes frame, size_t offset, uint8_t value) {
    frame.at(offset) = value;
    return frame;
}

Bytes with_total_length(Bytes frame, size_t ip_offset, uint16_t tot_len) {
    frame.at(ip_offset + 2) = uint8_t(tot_len >> 8);
    frame.at(ip_offset + 3) = uint8_t(tot_len);
    return frame;
}

// A client SYN as peer B forwards it: outer IPv4 + inner IPv4 + TCP with options.
Bytes forwarded_syn_frame() {
    auto inner = Harness::user_syn();
    inner.dst = kPeerB;
    inner.dport = kPeerFport;
    return ipip_frame(kPeerBMac, kNodeMac, kPeerB, kNode, inner.l3());
}

TEST(PacketParser, AWellFormedSynIsReadToTheEnd) {
    auto syn = Harness::user_syn();
    syn.payload = {'h', 'i'};
    const Parsed p = parse(syn.frame());
    ASSERT_TRUE(p.ok()) << p.error;
    EXPECT_TRUE(p.error.empty());
    EXPECT_FALSE(p.outer);
    EXPECT_EQ(p.ip.src, kClient);
    EXPECT_EQ(p.ip.dst, kNode);
    EXPECT_EQ(p.ip.tot_len, 20 + 20 + syn.tcp_options.size() + 2);
    EXPECT_TRUE(p.ip.checksum_ok);
    EXPECT_EQ(p.tcp.sport, syn.sport);
    EXPECT_EQ(p.tcp.dport, kFport);
    EXPECT_EQ(p.tcp.flags, kSyn);
    EXPECT_EQ(p.tcp.mss, 1460);
    EXPECT_EQ(p.tcp.payload, syn.payload);
    EXPECT_TRUE(p.tcp.checksum_ok);
}

TEST(PacketParser, InnerTotalLengthBelowTheHeaderIsMalformedNotAnException) {
    const Bytes good = forwarded_syn_frame();
    const size_t inner = kEth + 20;
    for (uint16_t tot_len = 0; tot_len < 20; ++tot_len) {
        SCOPED_TRACE("inner tot_len " + std::to_string(tot_len));
        Parsed p;
        ASSERT_NO_THROW(p = parse(with_total_length(good, inner, tot_len)));
        EXPECT_EQ(p.malformed, Malformed::Ipv4TotalLengthBelowHeader);
        EXPECT_NE(p.error.find("inner IPv4"), std::string::npos) << p.error;
        ASSERT_TRUE(p.outer) << "the outer header was read before the inner one";
        EXPECT_EQ(p.outer->src, kPeerB);
    }
    // With IP options the header is longer: 20 is then below it too.
    auto syn = Harness::user_syn();
    syn.ip_options = {1, 1, 1, 0};
    Parsed p;
    ASSERT_NO_THROW(p = parse(with_total_length(syn.frame(), kEth, 20)));
    EXPECT_EQ(p.malformed, Malformed::Ipv4TotalLengthBelowHeader);
}

TEST(PacketParser, EachHeaderFaultHasItsOwnResult) {
    const Bytes syn = Harness::user_syn().frame();  // 20-byte IP header, 40-byte TCP header
    const size_t tcp = kEth + 20;
    Bytes no_options_syn = [] {
        auto s = Harness::user_syn();
        s.tcp_options.clear();
        return s.frame();
    }();
    const struct {
        const char *what;
        Bytes frame;
        Malformed expected;
    } cases[] = {
        {"10-byte frame", Bytes(syn.begin(), syn.begin() + 10), Malformed::TruncatedEthernet},
        {"frame ends inside the IP header", Bytes(syn.begin(), syn.begin() + kEth + 12),
         Malformed::TruncatedIpv4},
        {"IHL 15 in a 40-byte packet", with_byte(no_options_syn, kEth, 0x4f),
         Malformed::TruncatedIpv4},
        {"IHL 3", with_byte(syn, kEth, 0x43), Malformed::BadIpv4Header},
        {"version 6", with_byte(syn, kEth, 0x65), Malformed::BadIpv4Header},
        {"total length 19", with_total_length(syn, kEth, 19),
         Malformed::Ipv4TotalLengthBelowHeader},
        {"total length past the frame", with_total_length(syn, kEth, 0x0500),
         Malformed::Ipv4TotalLengthBeyondFrame},
        {"frame cut inside TCP", Bytes(syn.begin(), syn.begin() + tcp + 10),
         Malformed::Ipv4TotalLengthBeyondFrame},
        {"total length leaves 10 bytes of TCP", with_total_length(syn, kEth, 30),
         Malformed::TruncatedTcp},
        {"TCP data offset 4", with_byte(syn, tcp + 12, 0x40), Malformed::BadTcpDataOffset},
        {"TCP data offset 15 in a 40-byte segment", with_byte(syn, tcp + 12, 0xf0),
         Malformed::BadTcpDataOffset},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(c.what);
        Parsed p;
        ASSERT_NO_THROW(p = parse(c.frame));
        EXPECT_EQ(p.malformed, c.expected) << to_string(p.malformed);
        EXPECT_FALSE(p.ok());
        EXPECT_FALSE(p.error.empty());
    }
}

TEST(PacketParser, EveryTruncationOfAForwardedSynIsReportedAndNoneThrows) {
    const Bytes good = forwarded_syn_frame();
    ASSERT_TRUE(parse(good).ok());
    for (size_t len = 0; len < good.size(); ++len) {
        SCOPED_TRACE("first " + std::to_string(len) + " bytes");
        Parsed p;
        ASSERT_NO_THROW(p = parse(Bytes(good.begin(), good.begin() + len)));
        EXPECT_FALSE(p.ok());
    }
}

TEST(PacketParser, NoValueOfAnyHeaderByteMakesItThrow) {
    // Every value at every byte of Ethernet, both IPv4 headers and the TCP header.
    const Bytes good = forwarded_syn_frame();
    const size_t headers = kEth + 20 + 20 + 40;
    ASSERT_GE(good.size(), headers);
    size_t malformed = 0;
    for (size_t offset = 0; offset < headers; ++offset)
        for (int value = 0; value < 256; ++value) {
            Parsed p;
            ASSERT_NO_THROW(p = parse(with_byte(good, offset, uint8_t(value))))
                << "byte " << offset << " = " << value;
            malformed += !p.ok();
        }
    EXPECT_GT(malformed, 0u) << "some of these frames are malformed";
}

TEST(PacketParser, AnOptionRunningPastTheTcpHeaderIsNotReadFromThePayload) {
    // NOP NOP NOP then an MSS kind in the header's last byte: its length and value would be the
    // payload's first bytes (4, 0x05b4 = 1460).
    auto syn = Harness::user_syn();
    syn.tcp_options = {1, 1, 1, 2};
    syn.payload = {4, 0x05, 0xb4, 0};
    const Parsed p = parse(syn.frame());
    ASSERT_TRUE(p.ok()) << p.error;
    EXPECT_FALSE(p.tcp.mss) << "MSS " << p.tcp.mss.value_or(0) << " read from the payload";
    EXPECT_EQ(p.tcp.payload, syn.payload);
}

}  // namespace
}  // namespace dfaas::test
