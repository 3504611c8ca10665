/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Address and port rewrites. The TCP and IPv4 checksum fields of a packet in flight change only
 * through the kernel's helpers: they know the skb's checksum state (CHECKSUM_PARTIAL packets from
 * local sockets keep only the pseudo-header seed in the field, and only pseudo-header changes may
 * touch it; CHECKSUM_COMPLETE packets carry skb->csum, which the helpers keep right). The fields
 * themselves are written directly where the program may write the packet (ingress) and with one
 * bpf_skb_store_bytes where it should not (egress, whose packets are mostly clones of the TCP
 * write queue: a direct write makes the verifier unclone every such packet at the program's
 * start, ours or not). A header this program builds itself (the outer header of IP-in-IP, an RST)
 * gets its checksum computed here: nothing offloads an IPv4 header checksum.
 */
#ifndef DFAAS_BPF_CSUM_H
#define DFAAS_BPF_CSUM_H

#include "lib/common.h"
#include "lib/parse.h"

#define IP_SADDR_OFF 12
#define IP_DADDR_OFF 16
#define TCP_SPORT_OFF 0
#define TCP_DPORT_OFF 2

/* The checksum of a 20-byte IPv4 header whose check field is zero (RFC 1071). */
DFAAS_INLINE __u16 ipv4_header_csum(const struct iphdr *ip) {
    const __u16 *word = (const __u16 *)ip;
    __u32 sum = 0;

#pragma unroll
    for (int i = 0; i < (int)(sizeof(*ip) / 2); i++)
        sum += word[i];
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (__u16)~sum;
}

/* The checksum fields for a destination (`dest`) or source rewrite of address and port. */
DFAAS_INLINE int nat_update_csums(struct __sk_buff *skb, const struct dfaas_pkt *pkt,
                                  __u32 old_addr, __u32 new_addr, __u16 old_port, __u16 new_port) {
    __u32 tcp_csum = pkt->l4_off + TCP_CSUM_OFF;

    if (old_addr != new_addr) {
        if (bpf_l4_csum_replace(skb, tcp_csum, old_addr, new_addr,
                                BPF_F_PSEUDO_HDR | sizeof(new_addr)))
            return -1;
        if (bpf_l3_csum_replace(skb, pkt->l3_off + IP_CSUM_OFF, old_addr, new_addr,
                                sizeof(new_addr)))
            return -1;
    }
    /* Not folded into the call above: a port is not part of the pseudo header, and a
     * CHECKSUM_PARTIAL packet's field must not take it. */
    if (old_port != new_port &&
        bpf_l4_csum_replace(skb, tcp_csum, old_port, new_port, sizeof(new_port)))
        return -1;
    return 0;
}

/*
 * DNAT of a client packet at ingress: destination address and port to `addr`:`port`, and the
 * source port to `client_port` (the client's own unless lib/ct.h remapped it), with direct
 * writes of the fields (the parse left the headers linear; a packet that is not is dropped by
 * the caller as a NAT failure, as with the helpers).
 */
DFAAS_INLINE int rewrite_dnat(struct __sk_buff *skb, const struct dfaas_pkt *pkt, __u32 addr,
                              __u16 port, __u16 client_port) {
    void *data, *data_end;
    struct iphdr *ip;
    struct tcphdr *tcp;

    if (pkt->daddr == addr && pkt->dport == port && pkt->sport == client_port) return 0;
    if (nat_update_csums(skb, pkt, pkt->daddr, addr, pkt->dport, port) ||
        nat_update_csums(skb, pkt, 0, 0, pkt->sport, client_port))
        return -1;
    /* Helpers may move the data: the pointers are taken afterwards. Offsets bounded for the
     * verifier (parse_packet: l3_off <= ETH_HLEN + 60, l4_off <= l3_off + 60). */
    data = skb_data(skb);
    data_end = skb_data_end(skb);
    ip = data + (pkt->l3_off & 0xff);
    tcp = data + (pkt->l4_off & 0xff);
    if ((void *)(ip + 1) > data_end || (void *)(tcp + 1) > data_end) return -1;
    ip->daddr = addr;
    tcp->dest = port;
    tcp->source = client_port;
    return 0;
}

/* Source address, destination address and both ports: contiguous when the IPv4 header has no
 * options, so one store writes the reply's rewrite (the destination address unchanged). */
struct snat_fields {
    __u32 saddr;
    __u32 daddr;
    __u16 sport;
    __u16 dport;
} __attribute__((packed));

/* SNAT of a server reply at egress: source address and port to `addr`:`port`, and the
 * destination port back to the client's own (`client_port`, when lib/ct.h remapped it), written
 * with bpf_skb_store_bytes (see the note at the top), once when the header has no options. */
DFAAS_INLINE int rewrite_snat(struct __sk_buff *skb, const struct dfaas_pkt *pkt, __u32 addr,
                              __u16 port, __u16 client_port) {
    struct snat_fields f = {
        .saddr = addr, .daddr = pkt->daddr, .sport = port, .dport = client_port};

    if (pkt->saddr == addr && pkt->sport == port && pkt->dport == client_port) return 0;
    if (nat_update_csums(skb, pkt, pkt->saddr, addr, pkt->sport, port) ||
        nat_update_csums(skb, pkt, 0, 0, pkt->dport, client_port))
        return -1;
    if (pkt->l4_off == pkt->l3_off + IP_SADDR_OFF + 8)
        return bpf_skb_store_bytes(skb, pkt->l3_off + IP_SADDR_OFF, &f, sizeof(f), 0);
    if (bpf_skb_store_bytes(skb, pkt->l3_off + IP_SADDR_OFF, &addr, sizeof(addr), 0)) return -1;
    return bpf_skb_store_bytes(skb, pkt->l4_off + TCP_SPORT_OFF, &f.sport, 2 * sizeof(__u16), 0);
}

#endif
