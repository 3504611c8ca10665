/* SPDX-License-Identifier: GPL-2.0 */
/*
 * IP-in-IP forwarding. The client's packet travels to the peer unchanged inside an outer IPv4
 * header (this node -> peer), so the peer sees the real client tuple: no source NAT, no port
 * allocation, no TIME_WAIT collisions. bpf_skb_adjust_room with the ENCAP/DECAP flags keeps GSO
 * packets valid (the kernel shrinks gso_size by the overhead and marks them SKB_GSO_IPXIP4).
 */
#ifndef DFAAS_BPF_ENCAP_H
#define DFAAS_BPF_ENCAP_H

#include "lib/csum.h"
#include "lib/parse.h"

/*
 * Pushes the outer header (outer_src -> outer_dst) in front of the packet's IPv4 header: one
 * bpf_skb_adjust_room, then the header with its checksum computed here, written directly at
 * ingress (`direct`) and with one store at egress (see lib/csum.h on why egress does not write
 * directly). The inner header's TOS is read directly: the parse left it linear.
 */
DFAAS_INLINE int encap_ipip(struct __sk_buff *skb, __u32 outer_src, __u32 outer_dst, int direct) {
    struct iphdr outer = {};
    __u32 inner_len = skb->len - ETH_HLEN;
    void *data = skb_data(skb), *data_end = skb_data_end(skb);
    struct iphdr *ip = data + ETH_HLEN;

    if (inner_len + IPIP_OVERHEAD > 0xffff) return -1;
    if ((void *)(ip + 1) <= data_end) outer.tos = ip->tos;
    if (bpf_skb_adjust_room(skb, IPIP_OVERHEAD, BPF_ADJ_ROOM_MAC, BPF_F_ADJ_ROOM_ENCAP_L3_IPV4))
        return -1;
    outer.version = 4;
    outer.ihl = 5;
    outer.tot_len = bpf_htons(inner_len + IPIP_OVERHEAD);
    /* DF: the MSS clamp keeps segments small enough, and fragments are never steered. */
    outer.frag_off = bpf_htons(IP_DF);
    outer.ttl = 64;
    outer.protocol = IPPROTO_IPIP_NR;
    outer.saddr = outer_src;
    outer.daddr = outer_dst;
    outer.check = ipv4_header_csum(&outer);
    if (direct) {
        /* adjust_room made the room in the linear head, right after the MAC header. */
        data = skb_data(skb);
        data_end = skb_data_end(skb);
        ip = data + ETH_HLEN;
        if ((void *)(ip + 1) > data_end) return -1;
        *ip = outer;
        return 0;
    }
    return bpf_skb_store_bytes(skb, ETH_HLEN, &outer, sizeof(outer), 0);
}

DFAAS_INLINE int decap_ipip(struct __sk_buff *skb, __u32 outer_hlen) {
    outer_hlen &= 0x3c; /* 20..60, for the verifier */
    if (outer_hlen < 20) return -1;
    return bpf_skb_adjust_room(skb, -(__s32)outer_hlen, BPF_ADJ_ROOM_MAC,
                               BPF_F_ADJ_ROOM_DECAP_L3_IPV4);
}

/* State of the TCP option scan, on the caller's stack and handed to each bpf_loop step. */
struct mss_scan {
    __u8 opts[48]; /* up to 40 bytes of options, zero padded for the word diff below */
    __u32 cursor;
    __u32 optlen;
    __u32 mss_at; /* offset of the MSS value inside opts, 0 = not found */
};

/* One option per step. Driven by bpf_loop so the verifier checks the body once; an open-coded
 * loop makes it walk every cursor value separately (hundreds of thousands of instructions). */
static long mss_scan_step(__u32 index, void *ctx) {
    struct mss_scan *scan = ctx;
    __u32 i = scan->cursor;
    __u8 kind, len;

    if (i >= scan->optlen || i >= 39) return 1;
    kind = scan->opts[i];
    if (kind == 0) return 1; /* end of options */
    if (kind == 1) {         /* no-op */
        scan->cursor = i + 1;
        return 0;
    }
    len = scan->opts[i + 1];
    if (len < 2) return 1;
    if (kind == 2 && len == 4 && i + 4 <= scan->optlen) {
        scan->mss_at = i + 2;
        return 1;
    }
    scan->cursor = i + len;
    return 0;
}

/*
 * Lowers the MSS option of a SYN or SYN-ACK to `max_mss` so that segments still fit the path MTU
 * once the outer header is added. Returns 1 when clamped, 0 when not needed, <0 on error.
 *
 * The option can sit at any byte offset, so the checksum is fixed with a diff over the two
 * aligned 32-bit words around it (an unaligned 16-bit field cannot be patched as one word).
 */
DFAAS_SUBPROG int dfaas_clamp_mss(struct __sk_buff *skb, __u32 l4_off, __u32 tcp_hlen,
                                  __u32 max_mss) {
    struct mss_scan scan = {};
    __u8 old_words[8], new_words[8];
    __u32 mss_at, word_at;
    __u16 mss;
    __s64 diff;

    if (!skb || tcp_hlen <= sizeof(struct tcphdr)) return 0;
    scan.optlen = (tcp_hlen - sizeof(struct tcphdr)) & 0x3f;
    if (scan.optlen == 0 || scan.optlen > 40) return 0;
    if (bpf_skb_load_bytes(skb, l4_off + sizeof(struct tcphdr), scan.opts, scan.optlen)) return -1;
    bpf_loop(40, mss_scan_step, &scan, 0);
    mss_at = scan.mss_at;
    if (!mss_at || mss_at > 38) return 0;
    mss = ((__u16)scan.opts[mss_at] << 8) | scan.opts[mss_at + 1];
    if (mss <= max_mss) return 0;

    word_at = mss_at & ~3u;
    if (word_at > 36) return 0;
    __builtin_memcpy(old_words, &scan.opts[word_at], 8);
    scan.opts[mss_at] = max_mss >> 8;
    scan.opts[mss_at + 1] = max_mss & 0xff;
    __builtin_memcpy(new_words, &scan.opts[word_at], 8);
    diff = bpf_csum_diff((__be32 *)old_words, 8, (__be32 *)new_words, 8, 0);
    if (diff < 0) return -1;
    if (bpf_l4_csum_replace(skb, l4_off + TCP_CSUM_OFF, 0, (__u32)diff, 0)) return -1;
    if (bpf_skb_store_bytes(skb, l4_off + sizeof(struct tcphdr) + mss_at, &scan.opts[mss_at], 2, 0))
        return -1;
    return 1;
}

DFAAS_INLINE int clamp_mss(struct __sk_buff *skb, const struct dfaas_pkt *pkt, __u16 max_mss) {
    return dfaas_clamp_mss(skb, pkt->l4_off, pkt->tcp_hlen, max_mss);
}

#endif
