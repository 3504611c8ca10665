/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reject: the SYN is turned in place into an RST|ACK and bounced out of the device it came in
 * on, so the client sees "connection refused" within a round trip instead of a timeout.
 * For a forwarded-in SYN the inner packet becomes the RST and the outer header is reversed, so
 * the RST travels back through the forwarding node like any reply.
 *
 * Checksums: the IPv4 header is rebuilt and summed here (lib/csum.h); the TCP checksum is
 * updated incrementally with the header diff (the pseudo header keeps its length), which is
 * correct whatever the skb's checksum state is.
 */
#ifndef DFAAS_BPF_REJECT_H
#define DFAAS_BPF_REJECT_H

#include "lib/csum.h"
#include "lib/parse.h"

DFAAS_INLINE int swap_macs(struct __sk_buff *skb) {
    __u8 macs[2 * ETH_ALEN], swapped[2 * ETH_ALEN];
    if (bpf_skb_load_bytes(skb, 0, macs, sizeof(macs))) return -1;
    __builtin_memcpy(swapped, macs + ETH_ALEN, ETH_ALEN);
    __builtin_memcpy(swapped + ETH_ALEN, macs, ETH_ALEN);
    return bpf_skb_store_bytes(skb, 0, swapped, sizeof(swapped), 0);
}

/* Writes a fresh 20-byte IPv4 header from `src` to `dst` at `off`. */
DFAAS_INLINE int write_ipv4_header(struct __sk_buff *skb, __u32 off, __u32 src, __u32 dst,
                                   __u16 tot_len, __u8 protocol) {
    struct iphdr ip = {};
    ip.version = 4;
    ip.ihl = 5;
    ip.tot_len = bpf_htons(tot_len);
    ip.frag_off = bpf_htons(IP_DF);
    ip.ttl = 64;
    ip.protocol = protocol;
    ip.saddr = src;
    ip.daddr = dst;
    ip.check = ipv4_header_csum(&ip);
    return bpf_skb_store_bytes(skb, off, &ip, sizeof(ip), 0);
}

/*
 * Rewrites the SYN's TCP header in place into an RST|ACK of the same length: ports swapped,
 * SEQ 0 and ACK = SEG.SEQ + 1 (RFC 9293 3.10.7.1: the SYN carried no ACK), no window, and the
 * SYN's options overwritten with NOPs. Keeping the length means no bpf_skb_change_tail(), which
 * the kernel refuses on encapsulated skbs (a SYN a peer forwarded is one), and the pseudo
 * header does not change: one checksum diff over the header suffices.
 */
DFAAS_INLINE int write_rst_header(struct __sk_buff *skb, const struct dfaas_pkt *pkt, __u32 l4_off,
                                  __u8 *old_hdr, __u32 hlen) {
    __u8 new_hdr[60];
    __u32 ack = bpf_htonl(bpf_ntohl(pkt->seq) + 1);
    __u16 csum;
    __s64 diff;
    __u32 i;

    hlen &= 0x3c;
    if (hlen < 20) return -1;
    __builtin_memcpy(&csum, old_hdr + TCP_CSUM_OFF, sizeof(csum));
    old_hdr[TCP_CSUM_OFF] = 0; /* the diff covers every field but the checksum itself */
    old_hdr[TCP_CSUM_OFF + 1] = 0;
    __builtin_memcpy(new_hdr, old_hdr, sizeof(new_hdr));
    __builtin_memcpy(new_hdr + 0, &pkt->dport, 2);
    __builtin_memcpy(new_hdr + 2, &pkt->sport, 2);
    __builtin_memset(new_hdr + 4, 0, 4);
    __builtin_memcpy(new_hdr + 8, &ack, 4);
    new_hdr[13] = TCP_FLAG_RST | TCP_FLAG_ACK;
    __builtin_memset(new_hdr + 14, 0, 6); /* window, checksum (for the diff), urgent pointer */
    for (i = 20; i < 60; i++)
        if (i < hlen) new_hdr[i] = 1; /* NOP */
    diff = bpf_csum_diff((__be32 *)old_hdr, hlen, (__be32 *)new_hdr, hlen, 0);
    if (diff < 0) return -1;
    __builtin_memcpy(new_hdr + TCP_CSUM_OFF, &csum, sizeof(csum)); /* updated from the old one */
    if (bpf_skb_store_bytes(skb, l4_off, new_hdr, hlen, 0)) return -1;
    return bpf_l4_csum_replace(skb, l4_off + TCP_CSUM_OFF, 0, (__u32)diff, 0);
}

/*
 * Turns the SYN described by pkt into an RST|ACK addressed back to its sender (the outer header
 * reversed too when the SYN came encapsulated from a peer). The caller redirects the packet out
 * of the ingress device. Returns 0 on success, <0 when the packet cannot be answered (SYN with
 * payload, options on an encapsulated header): the caller drops it.
 */
DFAAS_INLINE int build_rst(struct __sk_buff *skb, struct dfaas_pkt *pkt) {
    __u8 old_hdr[60] = {};
    __u32 tcp_hlen = pkt->tcp_hlen & 0x3c;

    /* The incremental checksum would have to subtract the payload; TFO-style SYN data is rare. */
    if (pkt->payload_len || tcp_hlen < 20) return -1;
    if (bpf_skb_load_bytes(skb, pkt->l4_off, old_hdr, tcp_hlen)) return -1;

    if (pkt->outer_hlen) {
        if (pkt->outer_hlen != 20 || pkt->ip_hlen != 20) return -1;
    } else if (pkt->ip_hlen > 20) {
        /* Drop the IP options: they were the client's, not ours to echo. */
        if (bpf_skb_adjust_room(skb, -(__s32)(pkt->ip_hlen - 20), BPF_ADJ_ROOM_NET, 0)) return -1;
        pkt->ip_hlen = 20;
        pkt->l4_off = pkt->l3_off + 20;
    }
    if (write_ipv4_header(skb, pkt->l3_off, pkt->daddr, pkt->saddr, 20 + tcp_hlen, IPPROTO_TCP_NR))
        return -1;
    if (write_rst_header(skb, pkt, pkt->l4_off, old_hdr, tcp_hlen)) return -1;
    if (pkt->outer_hlen && write_ipv4_header(skb, ETH_HLEN, pkt->outer_daddr, pkt->outer_saddr,
                                             20 + 20 + tcp_hlen, IPPROTO_IPIP_NR))
        return -1;
    return swap_macs(skb);
}

#endif
