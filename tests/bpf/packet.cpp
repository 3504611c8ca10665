#include "packet.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstring>

namespace dfaas::test {

Mac mac(uint8_t last) {
    return Mac{0x02, 0x00, 0x00, 0x00, 0x00, last};
}

std::string to_string(const Mac &m) {
    char buf[18];
    std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
                  m[5]);
    return buf;
}

uint16_t ones_sum(const uint8_t *data, size_t len, uint32_t start) {
    uint64_t sum = start;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t(data[i]) << 8) | data[i + 1];
    if (len & 1) sum += uint32_t(data[len - 1]) << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

namespace {

void put16(Bytes &b, size_t off, uint16_t v) {
    b[off] = v >> 8;
    b[off + 1] = v & 0xff;
}

void put32(Bytes &b, size_t off, uint32_t v) {
    for (int i = 0; i < 4; ++i)
        b[off + i] = (v >> (24 - 8 * i)) & 0xff;
}

uint16_t get16(const Bytes &b, size_t off) {
    return uint16_t(b[off] << 8 | b[off + 1]);
}

uint32_t get32(const Bytes &b, size_t off) {
    return uint32_t(b[off]) << 24 | uint32_t(b[off + 1]) << 16 | uint32_t(b[off + 2]) << 8 |
           b[off + 3];
}

Bytes ipv4_header(Ipv4 src, Ipv4 dst, uint8_t protocol, size_t payload_len,
                  const Bytes &options = {}, uint8_t ttl = 64, uint16_t frag = 0) {
    size_t hlen = 20 + options.size();
    Bytes h(hlen, 0);
    h[0] = 0x40 | uint8_t(hlen / 4);
    put16(h, 2, uint16_t(hlen + payload_len));
    put16(h, 4, 0x1234);
    put16(h, 6, frag);
    h[8] = ttl;
    h[9] = protocol;
    put32(h, 12, src.value);
    put32(h, 16, dst.value);
    std::memcpy(h.data() + 20, options.data(), options.size());
    put16(h, 10, uint16_t(~ones_sum(h.data(), hlen)));
    return h;
}

uint32_t pseudo_sum(Ipv4 src, Ipv4 dst, uint8_t protocol, size_t l4_len) {
    Bytes p(12, 0);
    put32(p, 0, src.value);
    put32(p, 4, dst.value);
    p[9] = protocol;
    put16(p, 10, uint16_t(l4_len));
    return ones_sum(p.data(), p.size());
}

Bytes ethernet(const Mac &src, const Mac &dst, uint16_t type) {
    Bytes e(14);
    std::memcpy(e.data(), dst.data(), 6);
    std::memcpy(e.data() + 6, src.data(), 6);
    put16(e, 12, type);
    return e;
}

Bytes concat(Bytes a, const Bytes &b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

}  // namespace

Bytes mss_option(uint16_t mss) {
    return Bytes{2, 4, uint8_t(mss >> 8), uint8_t(mss & 0xff)};
}

Bytes typical_syn_options(uint16_t mss) {
    Bytes o = mss_option(mss);
    Bytes rest = {4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};  // SACK-perm, TS, NOP, WS
    o.insert(o.end(), rest.begin(), rest.end());
    return o;
}

Bytes TcpPacket::l3() const {
    size_t tcp_hlen = 20 + tcp_options.size();
    Bytes tcp(tcp_hlen, 0);
    put16(tcp, 0, sport);
    put16(tcp, 2, dport);
    put32(tcp, 4, seq);
    put32(tcp, 8, ack);
    tcp[12] = uint8_t((tcp_hlen / 4) << 4);
    tcp[13] = flags;
    put16(tcp, 14, window);
    std::memcpy(tcp.data() + 20, tcp_options.data(), tcp_options.size());
    tcp = concat(tcp, payload);
    uint16_t sum = ones_sum(tcp.data(), tcp.size(), pseudo_sum(src, dst, 6, tcp.size()));
    put16(tcp, 16, uint16_t(~sum));
    return concat(ipv4_header(src, dst, protocol, tcp.size(), ip_options, ttl, frag), tcp);
}

Bytes TcpPacket::frame() const {
    return concat(ethernet(eth_src, eth_dst, 0x0800), l3());
}

Bytes ipip_frame(const Mac &eth_src, const Mac &eth_dst, Ipv4 outer_src, Ipv4 outer_dst,
                 const Bytes &inner_l3) {
    return concat(concat(ethernet(eth_src, eth_dst, 0x0800),
                         ipv4_header(outer_src, outer_dst, 4, inner_l3.size())),
                  inner_l3);
}

Bytes udp_frame(Ipv4 src, Ipv4 dst, uint16_t sport, uint16_t dport) {
    Bytes udp(8 + 4, 0);
    put16(udp, 0, sport);
    put16(udp, 2, dport);
    put16(udp, 4, uint16_t(udp.size()));
    return concat(
        concat(ethernet(mac(0x10), mac(0x01), 0x0800), ipv4_header(src, dst, 17, udp.size())), udp);
}

Bytes icmp_frame(Ipv4 src, Ipv4 dst) {
    Bytes icmp = {8, 0, 0, 0, 0, 1, 0, 1};
    put16(icmp, 2, uint16_t(~ones_sum(icmp.data(), icmp.size())));
    return concat(
        concat(ethernet(mac(0x10), mac(0x01), 0x0800), ipv4_header(src, dst, 1, icmp.size())),
        icmp);
}

Bytes ipv6_frame() {
    Bytes ip6(40 + 20, 0);
    ip6[0] = 0x60;
    put16(ip6, 4, 20);
    ip6[6] = 6;
    ip6[7] = 64;
    return concat(ethernet(mac(0x10), mac(0x01), 0x86dd), ip6);
}

const char *to_string(Malformed m) {
    switch (m) {
        case Malformed::None:
            return "none";
        case Malformed::TruncatedEthernet:
            return "truncated Ethernet header";
        case Malformed::TruncatedIpv4:
            return "truncated IPv4 header";
        case Malformed::BadIpv4Header:
            return "bad IPv4 version or IHL";
        case Malformed::Ipv4TotalLengthBelowHeader:
            return "IPv4 total length shorter than the header";
        case Malformed::Ipv4TotalLengthBeyondFrame:
            return "IPv4 total length beyond the frame";
        case Malformed::TruncatedTcp:
            return "truncated TCP header";
        case Malformed::BadTcpDataOffset:
            return "bad TCP data offset";
    }
    return "unknown";
}

namespace {

// Marks `p` malformed; `where` names the header ("IPv4", "inner IPv4", "TCP", ...).
void fail(Parsed &p, Malformed why, const std::string &where) {
    p.malformed = why;
    p.error = where + ": " + to_string(why);
}

// The IPv4 header at `off`, checked against the frame and against itself (the same rules as
// the data plane's parser, bpf/lib/parse.h), so that later offsets computed from IHL and the
// total length stay inside the frame.
std::optional<ParsedIpv4> parse_ipv4(const Bytes &f, size_t off, Parsed &p,
                                     const std::string &where) {
    if (f.size() < off + 20) {
        fail(p, Malformed::TruncatedIpv4, where);
        return std::nullopt;
    }
    ParsedIpv4 ip;
    ip.ihl_bytes = (f[off] & 0x0f) * 4;
    if ((f[off] >> 4) != 4 || ip.ihl_bytes < 20) {
        fail(p, Malformed::BadIpv4Header, where);
        return std::nullopt;
    }
    if (f.size() < off + ip.ihl_bytes) {
        fail(p, Malformed::TruncatedIpv4, where);
        return std::nullopt;
    }
    ip.tot_len = get16(f, off + 2);
    if (ip.tot_len < ip.ihl_bytes) {
        fail(p, Malformed::Ipv4TotalLengthBelowHeader, where);
        return std::nullopt;
    }
    if (f.size() < off + ip.tot_len) {
        fail(p, Malformed::Ipv4TotalLengthBeyondFrame, where);
        return std::nullopt;
    }
    ip.frag = get16(f, off + 6);
    ip.ttl = f[off + 8];
    ip.protocol = f[off + 9];
    ip.src = Ipv4{get32(f, off + 12)};
    ip.dst = Ipv4{get32(f, off + 16)};
    ip.checksum_ok = ones_sum(f.data() + off, ip.ihl_bytes) == 0xffff;
    return ip;
}

// The MSS among the TCP options in [begin, end); an option that does not fit before `end` ends
// the walk (its bytes would be the payload's).
std::optional<uint16_t> find_mss(const Bytes &f, size_t begin, size_t end) {
    for (size_t i = begin; i < end;) {
        const uint8_t kind = f[i];
        if (kind == 0) break;  // end of options
        if (kind == 1) {       // NOP
            ++i;
            continue;
        }
        if (i + 1 >= end) break;
        const uint8_t len = f[i + 1];
        if (len < 2 || i + len > end) break;
        if (kind == 2 && len == 4) return get16(f, i + 2);
        i += len;
    }
    return std::nullopt;
}

}  // namespace

Parsed parse(const Bytes &f) {
    Parsed p;
    p.length = f.size();
    if (f.size() < 14) {
        fail(p, Malformed::TruncatedEthernet, "Ethernet");
        return p;
    }
    std::memcpy(p.eth_dst.data(), f.data(), 6);
    std::memcpy(p.eth_src.data(), f.data() + 6, 6);
    p.ethertype = get16(f, 12);
    if (p.ethertype != 0x0800) return p;
    size_t off = 14;
    auto ip = parse_ipv4(f, off, p, "IPv4");
    if (!ip) return p;
    if (ip->protocol == 4) {
        p.outer = ip;
        off += ip->ihl_bytes;
        ip = parse_ipv4(f, off, p, "inner IPv4");
        if (!ip) return p;
    }
    p.ip = *ip;
    // Only the first fragment carries the TCP header.
    if (ip->protocol != 6 || (ip->frag & 0x1fff) != 0) return p;
    off += ip->ihl_bytes;
    // parse_ipv4 checked ihl <= tot_len <= what the frame holds from the header on.
    const size_t l4_len = size_t(ip->tot_len) - ip->ihl_bytes;
    if (l4_len < 20) {
        fail(p, Malformed::TruncatedTcp, "TCP");
        return p;
    }
    ParsedTcp &t = p.tcp;
    t.sport = get16(f, off);
    t.dport = get16(f, off + 2);
    t.seq = get32(f, off + 4);
    t.ack = get32(f, off + 8);
    t.hlen = (f[off + 12] >> 4) * 4;
    t.flags = f[off + 13];
    if (t.hlen < 20 || t.hlen > l4_len) {
        fail(p, Malformed::BadTcpDataOffset, "TCP");
        return p;
    }
    t.mss = find_mss(f, off + 20, off + t.hlen);
    t.payload.assign(f.begin() + off + t.hlen, f.begin() + off + l4_len);
    t.checksum_ok =
        ones_sum(f.data() + off, l4_len, pseudo_sum(ip->src, ip->dst, 6, l4_len)) == 0xffff;
    return p;
}

}  // namespace dfaas::test
