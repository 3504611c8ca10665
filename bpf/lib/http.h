/* SPDX-License-Identifier: GPL-2.0 */
/*
 * HTTP request counting without a proxy: a client segment whose payload starts with a method
 * token counts one request. This gives per-function request rates (what the reference read from
 * HAProxy stick tables) for keep-alive connections too. Pipelined requests inside one segment
 * count once; the agent documents this as a lower bound.
 *
 * Responses (ABI 6): a server segment that starts with "HTTP/1.0 " or "HTTP/1.1 " while a request
 * is unanswered (http_pending > 0) is a response start; its status goes into dfaas_http_stats of
 * the connection's route and, when it answers the only outstanding request, the time since that
 * request's first segment goes into the latency histogram. Known imprecisions, all bounded to one
 * response: a retransmitted response start while a later request is already pending counts as
 * that request's response (the entry has no room for the server's sequence number); a body
 * segment that happens to start with "HTTP/1.x " while a pipelined request is pending counts as a
 * response; a status line split before its third digit (payload under 12 bytes) is not counted.
 */
#ifndef DFAAS_BPF_HTTP_H
#define DFAAS_BPF_HTTP_H

#include "lib/parse.h"
#include "lib/stats.h"
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

/* The dfaas_http_stats row of a connection's route (its dfaas_stats index), or -1 for a path
 * that reaches no HTTP server (reject). */
DFAAS_INLINE int http_route(const struct dfaas_ct_entry *ct) {
    switch (ct->path) {
        case DFAAS_PATH_LOCAL:
            return DFAAS_STAT_LOCAL;
        case DFAAS_PATH_FORWARDED_IN:
            return DFAAS_STAT_FORWARDED_IN;
        case DFAAS_PATH_FORWARD:
            return DFAAS_STAT_PEER_BASE + (ct->peer_index & (DFAAS_MAX_PEERS - 1));
        default:
            return -1;
    }
}

/* The route's dfaas_http_stats value on this CPU, created at the route's first use; NULL (and
 * reason http_stats_full) when the map has no room. */
DFAAS_INLINE struct dfaas_http_stats *http_stats(__u32 function_id, int route) {
    __u32 key = function_id * DFAAS_STAT_PATHS + (__u32)route;
    struct dfaas_http_stats *stats, *zero;
    __u32 zero_key = 0;

    if (function_id >= DFAAS_MAX_FUNCTIONS || route < 0 || route >= DFAAS_STAT_PATHS) return 0;
    stats = bpf_map_lookup_elem(&dfaas_http_stats, &key);
    if (likely(stats)) return stats;
    zero = bpf_map_lookup_elem(&dfaas_http_zero, &zero_key);
    /* NOEXIST: another CPU may have created it meanwhile; its lookup below finds ours then. */
    if (zero) bpf_map_update_elem(&dfaas_http_stats, &key, zero, BPF_NOEXIST);
    stats = bpf_map_lookup_elem(&dfaas_http_stats, &key);
    if (!stats) count_reason(DFAAS_R_HTTP_STATS_FULL);
    return stats;
}

/* Reads `len` (<= 12) payload bytes at the start of the payload into `buf`: direct access when
 * they are in the linear part, else from the fragments (GRO). */
DFAAS_INLINE int http_payload_head(struct __sk_buff *skb, const struct dfaas_pkt *pkt, void *buf,
                                   __u32 len) {
    /* Bounded for the verifier, as in is_http_request. */
    __u32 off = (pkt->l4_off & 0xff) + (pkt->tcp_hlen & 0x3c);
    void *data = skb_data(skb), *data_end = skb_data_end(skb);

    if (data + off + 12 <= data_end) {
        __builtin_memcpy(buf, data + off, 12);
        return 0;
    }
    return bpf_skb_load_bytes(skb, off, buf, len) ? -1 : 0;
}

/* The client's payload segment (payload_len > 0) of a connection on any path: counts a request
 * once per segment (a retransmission carries the same sequence number), starts its timing, and
 * classifies the connection at its first payload. Returns 1 for a request. `ct` is the
 * connection's entry (per-connection state, no lock: a connection's segments are serialized by
 * TCP itself). Out of line: the established path without payload never enters it. */
static __attribute__((noinline)) int http_client_payload(struct __sk_buff *skb,
                                                         const struct dfaas_pkt *pkt,
                                                         struct dfaas_ct_entry *ct) {
    struct dfaas_config *cfg = load_config();
    struct dfaas_http_stats *stats;
    int request, recording;

    if (!skb || !pkt || !ct) return 0;
    if (ct->http_flags & DFAAS_CT_HTTP_OPAQUE) return 0;
    request = is_http_request(skb, pkt);
    /* Recording off (dataplane.http_stats: false): requests are counted, nothing is pending, so
     * the server side costs one branch per segment. A connection that began while it was on
     * keeps its pending count until its responses drain it. */
    recording = !cfg || !(cfg->flags & DFAAS_CFG_F_NO_HTTP_STATS);
    if (!recording) {
        if (!request || (ct->last_request_seq == pkt->seq && ct->last_request_seq)) return 0;
        ct->last_request_seq = pkt->seq;
        return 1;
    }
    if (!(ct->http_flags & DFAAS_CT_HTTP_SEEN)) {
        ct->http_flags |= DFAAS_CT_HTTP_SEEN;
        if (!request) {
            /* TLS, HTTP/2, anything not HTTP/1.x: counted once, never parsed again. */
            ct->http_flags |= DFAAS_CT_HTTP_OPAQUE;
            stats = http_stats(ct->function_id, http_route(ct));
            if (stats) stats->opaque_connections += 1;
            return 0;
        }
    }
    if (!request) return 0;
    if (ct->last_request_seq == pkt->seq && ct->last_request_seq) return 0;
    ct->last_request_seq = pkt->seq;
    if (!ct->http_pending)
        /* The fine clock: dfaas_now() is the coarse one (a jiffy, 1 to 10 ms). */
        ct->request_start_us = (__u32)(bpf_ktime_get_ns() >> 10);
    else
        ct->http_flags |= DFAAS_CT_HTTP_PIPELINED;
    if (ct->http_pending < 255) ct->http_pending += 1;
    return 1;
}

DFAAS_INLINE int http_client_segment(struct __sk_buff *skb, const struct dfaas_pkt *pkt,
                                     struct dfaas_ct_entry *ct) {
    if (!pkt->payload_len) return 0; /* the established path's only cost without payload */
    return http_client_payload(skb, pkt, ct);
}

/* "HTTP/1.1" and "HTTP/1.0" as big-endian words (the bytes in packet order). */
#define HTTP_1_1 0x485454502f312e31ull
#define HTTP_1_0 0x485454502f312e30ull

#define HTTP_DIGIT(c) ((__u8)((c) - '0') <= 9)

/* enum dfaas_http_code of a status line's three bytes after "HTTP/1.x " (`status`: the first
 * byte in bits 16..23, the third in 0..7). A global function: verified once, its many branches
 * do not multiply the caller's states (egress verified in 33,000 instructions inlined). */
DFAAS_SUBPROG __u32 dfaas_http_code(__u32 status) {
    __u8 d0 = (__u8)(status >> 16), d1 = (__u8)(status >> 8), d2 = (__u8)status;
    __u32 code;

    if (!HTTP_DIGIT(d0) || !HTTP_DIGIT(d1) || !HTTP_DIGIT(d2)) return DFAAS_HTTP_CODE_MALFORMED;
    code = (d0 - '0') * 100 + (d1 - '0') * 10 + (d2 - '0');
    switch (code) {
        case 200:
            return DFAAS_HTTP_CODE_200;
        case 404:
            return DFAAS_HTTP_CODE_404;
        case 429:
            return DFAAS_HTTP_CODE_429;
        case 500:
            return DFAAS_HTTP_CODE_500;
        case 502:
            return DFAAS_HTTP_CODE_502;
        case 503:
            return DFAAS_HTTP_CODE_503;
        case 504:
            return DFAAS_HTTP_CODE_504;
    }
    switch (d0) {
        case '1':
            return DFAAS_HTTP_CODE_OTHER_1XX;
        case '2':
            return DFAAS_HTTP_CODE_OTHER_2XX;
        case '3':
            return DFAAS_HTTP_CODE_OTHER_3XX;
        case '4':
            return DFAAS_HTTP_CODE_OTHER_4XX;
        case '5':
            return DFAAS_HTTP_CODE_OTHER_5XX;
        default:
            return DFAAS_HTTP_CODE_MALFORMED; /* 0xx, 6xx..9xx: no such class */
    }
}

/* Histogram bucket of a latency in ns: the first i with us < DFAAS_HTTP_BUCKET_BASE_US << i, else
 * the last. Without a loop: i = floor(log2(us / BASE)) + 1 for us >= BASE. Global for the same
 * reason as dfaas_http_code. */
DFAAS_SUBPROG __u32 dfaas_http_bucket(__u64 ns) {
    __u64 units = ns / (1000 * DFAAS_HTTP_BUCKET_BASE_US);
    __u32 log = 0;

    if (!units) return 0;
    if (units >> 32) return DFAAS_HTTP_BUCKETS - 1;
    if (units >> 16) {
        log += 16;
        units >>= 16;
    }
    if (units >> 8) {
        log += 8;
        units >>= 8;
    }
    if (units >> 4) {
        log += 4;
        units >>= 4;
    }
    if (units >> 2) {
        log += 2;
        units >>= 2;
    }
    if (units >> 1) log += 1;
    return log + 1 < DFAAS_HTTP_BUCKETS - 1 ? log + 1 : DFAAS_HTTP_BUCKETS - 1;
}

/* The server's payload segment of a connection with a request pending: a response start is
 * counted by status and, for the only outstanding request, timed. */
static __attribute__((noinline)) void http_server_payload(struct __sk_buff *skb,
                                                          const struct dfaas_pkt *pkt,
                                                          struct dfaas_ct_entry *ct) {
    struct dfaas_http_stats *stats;
    __u8 head[12];
    __u32 code, status, delta, bucket;
    __u64 version, ns;

    if (!skb || !pkt || !ct) return;
    if (pkt->payload_len < sizeof(head) || http_payload_head(skb, pkt, head, sizeof(head))) return;
    /* "HTTP/1.0 " or "HTTP/1.1 "; anything else (a body segment of a response already counted
     * while a pipelined request waits) is not a response start. Two compares of one word. */
    __builtin_memcpy(&version, head, sizeof(version));
    if ((version != bpf_cpu_to_be64(HTTP_1_1) && version != bpf_cpu_to_be64(HTTP_1_0)) ||
        head[8] != ' ')
        return;
    status = ((__u32)head[9] << 16) | ((__u32)head[10] << 8) | head[11];
    code = dfaas_http_code(status);
    /* Opaque to the compiler: it sees the global function's return range and would drop the
     * bound checks below that the verifier (which does not) needs. */
    asm volatile("" : "+r"(code));
    stats = http_stats(ct->function_id, http_route(ct));
    if (code == DFAAS_HTTP_CODE_OTHER_1XX) {
        /* Interim (100 Continue): the final response is still to come. 101 switches protocols:
         * nothing after it is HTTP/1.x, so the connection is not parsed again. */
        if (stats) stats->codes[DFAAS_HTTP_CODE_OTHER_1XX] += 1;
        if (status == ((__u32)'1' << 16 | (__u32)'0' << 8 | '1')) {
            ct->http_flags |= DFAAS_CT_HTTP_OPAQUE;
            ct->http_pending = 0;
        }
        return;
    }
    ct->http_pending -= 1;
    if (stats) {
        if (code < DFAAS_HTTP_CODES) stats->codes[code] += 1;
        if (ct->http_flags & DFAAS_CT_HTTP_PIPELINED) {
            stats->untimed += 1;
        } else {
            /* Modular: request_start_us holds the low 32 bits (units of 1024 ns). */
            delta = (__u32)(bpf_ktime_get_ns() >> 10) - ct->request_start_us;
            ns = (__u64)delta << 10;
            bucket = dfaas_http_bucket(ns);
            asm volatile("" : "+r"(bucket));
            if (bucket < DFAAS_HTTP_BUCKETS) stats->buckets[bucket] += 1;
            stats->latency_sum_ns += ns;
        }
    }
    if (!ct->http_pending) ct->http_flags &= ~DFAAS_CT_HTTP_PIPELINED;
}

/* A server segment of a connection (egress for the gateway's replies, ingress for a peer's):
 * without payload or with no request pending, one or two branches. */
DFAAS_INLINE void http_server_segment(struct __sk_buff *skb, const struct dfaas_pkt *pkt,
                                      struct dfaas_ct_entry *ct) {
    if (!pkt->payload_len || !ct->http_pending) return;
    http_server_payload(skb, pkt, ct);
}

#endif
