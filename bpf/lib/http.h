/* SPDX-License-Identifier: GPL-2.0 */
/*
 * HTTP request counting without a proxy: a client segment whose payload starts with a method
 * token counts one request. This gives per-function request rates (what the reference read from
 * HAProxy stick tables) for keep-alive connections too. Pipelined requests inside one segment
 * count once; the agent documents this as a lower bound.
 */
#ifndef DFAAS_BPF_HTTP_H
#define DFAAS_BPF_HTTP_H

#include "lib/parse.h"
#include "dfaas/abi.h"

#define WORD(a, b, c, d) (((__u32)(a) << 24) | ((__u32)(b) << 16) | ((__u32)(c) << 8) | (__u32)(d))

DFAAS_INLINE int is_http_request(struct __sk_buff *skb, const struct dfaas_pkt *pkt) {
    /* Bounded for the verifier: l4_off <= ETH_HLEN + 120, tcp_hlen <= 60. */
    __u32 off = (pkt->l4_off & 0xff) + (pkt->tcp_hlen & 0x3c);
    void *data = skb_data(skb), *data_end = skb_data_end(skb);
    __u32 word;

    if (pkt->payload_len < 4) return 0;
    /* The parse made the headers linear, not the payload: GRO may leave it in fragments. */
    if (data + off + sizeof(word) <= data_end)
        word = *(__u32 *)(data + off); /* unaligned reads of packet data: allowed without
                                          BPF_F_STRICT_ALIGNMENT */
    else if (bpf_skb_load_bytes(skb, off, &word, sizeof(word)))
        return 0;
    switch (bpf_ntohl(word)) {
        case WORD('G', 'E', 'T', ' '):
        case WORD('P', 'O', 'S', 'T'):
        case WORD('P', 'U', 'T', ' '):
        case WORD('H', 'E', 'A', 'D'):
        case WORD('D', 'E', 'L', 'E'):
        case WORD('P', 'A', 'T', 'C'):
        case WORD('O', 'P', 'T', 'I'):
            return 1;
        default:
            return 0;
    }
}

/* Counts a request once per client segment: a retransmission carries the same sequence number.
 * `ct` is the connection's entry (per-connection state, no lock: a connection's segments are
 * serialized by TCP itself). */
DFAAS_INLINE int count_http_request(struct __sk_buff *skb, const struct dfaas_pkt *pkt,
                                    struct dfaas_ct_entry *ct) {
    if (!is_http_request(skb, pkt)) return 0;
    if (ct->last_request_seq == pkt->seq && ct->last_request_seq) return 0;
    ct->last_request_seq = pkt->seq;
    return 1;
}

#endif
