/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Header parsing into a flat description of the packet (struct dfaas_pkt). Parsing reads with
 * direct packet access; every writer later works with offsets and helpers, so no packet pointer
 * has to survive a helper call that may move the data.
 */
#ifndef DFAAS_BPF_PARSE_H
#define DFAAS_BPF_PARSE_H

#include "lib/common.h"

struct dfaas_pkt {
    __u32 outer_off; /* IPv4 header right after Ethernet */
    __u32 l3_off;    /* the IPv4 header steered on (inner one when encapsulated) */
    __u32 l4_off;    /* its TCP header */
    __u32 saddr;     /* steered header, network order */
    __u32 daddr;
    __u32 outer_saddr; /* outer header (equal to saddr/daddr without encapsulation) */
    __u32 outer_daddr;
    __u32 seq;   /* network order */
    __u32 ack;   /* network order */
    __u16 sport; /* network order */
    __u16 dport;
    __u16 ip_len; /* host order, steered header's total length */
    __u16 payload_len;
    __u8 ip_hlen;    /* bytes, steered header */
    __u8 outer_hlen; /* bytes, outer header when encapsulated, else 0 */
    __u8 tcp_hlen;   /* bytes */
    __u8 tcp_flags;
};

enum parse_result {
    PARSE_TCP = 0,
    PARSE_IPIP,
    PARSE_NOT_IPV4,
    PARSE_NOT_TCP,
    PARSE_FRAGMENT,
    PARSE_MALFORMED,
};

/* Two IPv4 headers with options plus a TCP header with options: the most any path reads. */
#define PARSE_MAX_HEADERS (ETH_HLEN + 60 + 60 + 60)

/* Makes the first `len` bytes linear (GSO and some drivers leave headers in fragments). */
DFAAS_INLINE int ensure_linear(struct __sk_buff *skb, __u32 len) {
    __u32 linear = skb_data_end(skb) - skb_data(skb);
    /* Pulling is not free (it may un-share a cloned skb): only when headers are really split. */
    if (linear >= len || linear >= skb->len) return 0;
    if (len > skb->len) len = skb->len;
    return bpf_skb_pull_data(skb, len) ? -1 : 0;
}

/* Reads the IPv4 header at `off`; returns PARSE_TCP, PARSE_IPIP or a reason to stop. */
DFAAS_INLINE int parse_ipv4(struct __sk_buff *skb, __u32 off, __u32 *saddr, __u32 *daddr,
                            __u8 *hlen, __u16 *tot_len) {
    void *data = skb_data(skb);
    void *data_end = skb_data_end(skb);
    struct iphdr *ip;
    __u32 ihl;

    off &= 0xff; /* bounded for the verifier: callers pass <= ETH_HLEN + 60 */
    ip = data + off;
    if ((void *)(ip + 1) > data_end) return PARSE_MALFORMED;
    if (ip->version != 4) return PARSE_MALFORMED;
    ihl = ip->ihl * 4;
    if (ihl < sizeof(*ip)) return PARSE_MALFORMED;
    if (bpf_ntohs(ip->tot_len) < ihl) return PARSE_MALFORMED;
    /* A GSO packet's length field describes the whole super-packet; others must fit. */
    if (!skb->gso_size && off + bpf_ntohs(ip->tot_len) > skb->len) return PARSE_MALFORMED;
    if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET)) return PARSE_FRAGMENT;
    *saddr = ip->saddr;
    *daddr = ip->daddr;
    *hlen = ihl;
    *tot_len = bpf_ntohs(ip->tot_len);
    if (ip->protocol == IPPROTO_TCP_NR) return PARSE_TCP;
    if (ip->protocol == IPPROTO_IPIP_NR) return PARSE_IPIP;
    return PARSE_NOT_TCP;
}

/* Reads the TCP header at pkt->l4_off. */
DFAAS_INLINE int parse_tcp(struct __sk_buff *skb, struct dfaas_pkt *pkt) {
    void *data = skb_data(skb);
    void *data_end = skb_data_end(skb);
    __u32 off = pkt->l4_off & 0xff;
    struct tcphdr *tcp = data + off;
    __u32 doff;

    if ((void *)(tcp + 1) > data_end) return PARSE_MALFORMED;
    doff = tcp->doff * 4;
    if (doff < sizeof(*tcp) || pkt->ip_hlen + doff > pkt->ip_len) return PARSE_MALFORMED;
    pkt->sport = tcp->source;
    pkt->dport = tcp->dest;
    pkt->seq = tcp->seq;
    pkt->ack = tcp->ack_seq;
    pkt->tcp_hlen = doff;
    pkt->tcp_flags = ((__u8 *)tcp)[13];
    pkt->payload_len = pkt->ip_len - pkt->ip_hlen - doff;
    return PARSE_TCP;
}

/*
 * Parses Ethernet + IPv4 (+ IPv4 inner header when IP-in-IP) + TCP. On PARSE_IPIP the inner
 * headers are already parsed into pkt (l3_off/l4_off point at them) and the caller decides
 * whether to trust the outer sender.
 */
DFAAS_INLINE int parse_packet(struct __sk_buff *skb, struct dfaas_pkt *pkt) {
    void *data, *data_end;
    struct ethhdr *eth;
    int rc, outer;

    if (ensure_linear(skb, ETH_HLEN + 60 + 20)) return PARSE_MALFORMED;
    data = skb_data(skb);
    data_end = skb_data_end(skb);
    eth = data;
    if ((void *)(eth + 1) > data_end) return PARSE_MALFORMED;
    if (eth->h_proto != bpf_htons(ETH_P_IP)) return PARSE_NOT_IPV4;

    pkt->outer_off = ETH_HLEN;
    pkt->l3_off = ETH_HLEN;
    pkt->outer_hlen = 0;
    outer = parse_ipv4(skb, ETH_HLEN, &pkt->saddr, &pkt->daddr, &pkt->ip_hlen, &pkt->ip_len);
    pkt->outer_saddr = pkt->saddr;
    pkt->outer_daddr = pkt->daddr;
    if (outer != PARSE_TCP && outer != PARSE_IPIP) return outer;

    if (outer == PARSE_IPIP) {
        pkt->outer_hlen = pkt->ip_hlen;
        pkt->l3_off = ETH_HLEN + pkt->ip_hlen;
        if (ensure_linear(skb, pkt->l3_off + 60 + 20)) return PARSE_MALFORMED;
        rc = parse_ipv4(skb, pkt->l3_off, &pkt->saddr, &pkt->daddr, &pkt->ip_hlen, &pkt->ip_len);
        if (rc != PARSE_TCP) return rc == PARSE_IPIP ? PARSE_NOT_TCP : rc;
    }
    pkt->l4_off = pkt->l3_off + pkt->ip_hlen;
    rc = parse_tcp(skb, pkt);
    if (rc != PARSE_TCP) return rc;
    return outer;
}

DFAAS_INLINE int is_syn(const struct dfaas_pkt *pkt) {
    return (pkt->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK | TCP_FLAG_RST)) == TCP_FLAG_SYN;
}

DFAAS_INLINE int is_synack(const struct dfaas_pkt *pkt) {
    return (pkt->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK | TCP_FLAG_RST)) ==
           (TCP_FLAG_SYN | TCP_FLAG_ACK);
}

#endif
