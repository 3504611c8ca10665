// A packet builder and parser for the BPF packet tests, with its own checksum implementation
// (independent of the kernel helpers the data plane uses, so a wrong checksum cannot agree with
// itself).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dfaas/net.h"

namespace dfaas::test {

using Bytes = std::vector<uint8_t>;
using Mac = std::array<uint8_t, 6>;

Mac mac(uint8_t last);
std::string to_string(const Mac &m);

constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10;

// One's complement sum over bytes (RFC 1071), folded, not inverted.
uint16_t ones_sum(const uint8_t *data, size_t len, uint32_t start = 0);

// TCP options.
Bytes mss_option(uint16_t mss);
Bytes typical_syn_options(uint16_t mss = 1460);  // MSS, SACK-permitted, timestamps, NOP, WS

struct TcpPacket {
    Mac eth_src = mac(0x10), eth_dst = mac(0x01);
    Ipv4 src, dst;
    uint16_t sport = 40000, dport = 31000;
    uint8_t flags = kSyn;
    uint32_t seq = 1000, ack = 0;
    uint16_t window = 64240;
    Bytes tcp_options;
    Bytes ip_options;  // multiple of 4, <= 40
    Bytes payload;
    uint8_t ttl = 64;
    uint16_t frag = 0;  // frag_off field (flags + offset), host order
    uint8_t protocol = 6;

    // L3 onwards (IPv4 header + TCP), checksums correct.
    Bytes l3() const;
    // Ethernet + l3().
    Bytes frame() const;
};

// Ethernet + outer IPv4 (proto 4) + the inner L3 packet.
Bytes ipip_frame(const Mac &eth_src, const Mac &eth_dst, Ipv4 outer_src, Ipv4 outer_dst,
                 const Bytes &inner_l3);
Bytes udp_frame(Ipv4 src, Ipv4 dst, uint16_t sport, uint16_t dport);
Bytes icmp_frame(Ipv4 src, Ipv4 dst);
Bytes ipv6_frame();

struct ParsedIpv4 {
    Ipv4 src, dst;
    uint8_t ihl_bytes = 0, protocol = 0, ttl = 0;
    uint16_t tot_len = 0, frag = 0;
    bool checksum_ok = false;
};

struct ParsedTcp {
    uint16_t sport = 0, dport = 0;
    uint32_t seq = 0, ack = 0;
    uint8_t flags = 0;
    uint8_t hlen = 0;
    std::optional<uint16_t> mss;
    Bytes payload;
    bool checksum_ok = false;
};

// Why parse() stopped before the end of the headers. Every header is bounded by the frame and
// by the lengths the headers before it declare, so a malformed frame (as the data plane passes
// it on, untouched) is reported here, never by an exception.
enum class Malformed {
    None,
    TruncatedEthernet,           // fewer than 14 bytes
    TruncatedIpv4,               // fewer than 20 bytes, or than IHL * 4, left for the header
    BadIpv4Header,               // version not 4, or IHL < 5
    Ipv4TotalLengthBelowHeader,  // total length < IHL * 4
    Ipv4TotalLengthBeyondFrame,  // total length runs past the end of the frame
    TruncatedTcp,                // fewer than 20 bytes of TCP inside the total length
    BadTcpDataOffset,            // data offset < 5, or beyond the total length
};
const char *to_string(Malformed m);

struct Parsed {
    Mac eth_dst{}, eth_src{};
    uint16_t ethertype = 0;
    std::optional<ParsedIpv4> outer;  // set when the packet is IP-in-IP
    ParsedIpv4 ip;                    // the (inner) IPv4 header
    ParsedTcp tcp;
    size_t length = 0;
    Malformed malformed = Malformed::None;
    std::string error;  // set with `malformed`: what was wrong, and in which header

    bool ok() const { return malformed == Malformed::None; }
};

// Never throws: a frame that cannot be read to the end of its headers comes back with
// `malformed` (and `error`) set and the fields read so far.
Parsed parse(const Bytes &frame);

}  // namespace dfaas::test
