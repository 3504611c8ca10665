/* SPDX-License-Identifier: GPL-2.0 */
/* Counters: named reasons, per function x path, per peer. All per-CPU; the library sums them. */
#ifndef DFAAS_BPF_STATS_H
#define DFAAS_BPF_STATS_H

#include "lib/maps.h"

DFAAS_INLINE void count_reason(__u32 reason) {
    __u64 *v = bpf_map_lookup_elem(&dfaas_reasons, &reason);
    if (v) *v += 1;
}

DFAAS_INLINE struct dfaas_path_stats *path_stats(__u32 function_id, __u32 path) {
    __u32 idx = function_id * DFAAS_STAT_PATHS + path;
    if (function_id >= DFAAS_MAX_FUNCTIONS || path >= DFAAS_STAT_PATHS) return 0;
    return bpf_map_lookup_elem(&dfaas_stats, &idx);
}

/* Counts one packet (and optionally a new connection and an HTTP request) on a path. */
DFAAS_INLINE void count_path(__u32 function_id, __u32 path, __u32 bytes, int new_conn,
                             int http_request) {
    struct dfaas_path_stats *s = path_stats(function_id, path);
    if (!s) return;
    s->packets += 1;
    s->bytes += bytes;
    if (new_conn) s->connections += 1;
    if (http_request) s->requests += 1;
}

DFAAS_INLINE struct dfaas_peer_stats *peer_stats(__u32 peer_index) {
    return bpf_map_lookup_elem(&dfaas_peer_stats, &peer_index);
}

DFAAS_INLINE void count_fwd_in(__u32 function_id, __u32 peer_index, int accepted) {
    __u32 idx = function_id * DFAAS_MAX_PEERS + peer_index;
    struct dfaas_fwd_in_stats *s;
    struct dfaas_peer_stats *ps;
    if (function_id >= DFAAS_MAX_FUNCTIONS || peer_index >= DFAAS_MAX_PEERS) return;
    s = bpf_map_lookup_elem(&dfaas_fwd_in_stats, &idx);
    if (s) {
        if (accepted)
            s->accepted += 1;
        else
            s->rejected += 1;
    }
    ps = peer_stats(peer_index);
    if (ps) ps->fwd_in_conns += 1;
}

#endif
