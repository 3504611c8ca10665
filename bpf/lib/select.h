/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Target selection for a new connection. Weights are compiled by the control library into two
 * tables of DFAAS_SELECT_SLOTS slots (the weighted table and the overflow table), so selection is
 * one hash and two array reads, whatever the number of peers (Katran and Cilium do the same with
 * their Maglev tables). The policy value is read under its spin lock: the agent writes it with
 * BPF_F_LOCK, so a reader sees the old or the new policy, never a mix.
 */
#ifndef DFAAS_BPF_SELECT_H
#define DFAAS_BPF_SELECT_H

#include "lib/maps.h"
#include "lib/parse.h"

/* What selection hands to the path code. */
struct dfaas_choice {
    struct dfaas_slot slot;     /* weighted pick */
    struct dfaas_slot overflow; /* taken when the pick is local and the local cap is reached */
    __u32 local_cap;
    __u32 limit_in; /* forwarded-in cap for the sending peer (forwarded-in only) */
    __u32 installed;
};

/* A 32-bit mix of the connection tuple (murmur3-style finalizer rounds). Deterministic per tuple,
 * so a retransmitted SYN whose entry was lost still picks the same target. */
DFAAS_INLINE __u32 tuple_hash(const struct dfaas_pkt *pkt, __u64 seed) {
    __u64 h = seed ^ ((__u64)pkt->saddr << 32 | pkt->daddr);
    h ^= ((__u64)pkt->sport << 16 | pkt->dport) * 0x9e3779b97f4a7c15ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return (__u32)h;
}

/* Reads what a new connection of `function_id` needs from its policy. */
DFAAS_INLINE int read_policy(__u32 function_id, __u32 hash, __u32 peer_index,
                             struct dfaas_choice *out) {
    struct dfaas_policy *pol = bpf_map_lookup_elem(&dfaas_policies, &function_id);
    __u32 slot = hash % DFAAS_SELECT_SLOTS;
    __u32 ovf = (hash >> 8) % DFAAS_SELECT_SLOTS;

    if (!pol) return -1;
    peer_index &= DFAAS_MAX_PEERS - 1;
    bpf_spin_lock(&pol->lock);
    out->installed = pol->flags & DFAAS_POL_F_INSTALLED;
    out->slot = pol->table[slot];
    out->overflow = pol->overflow[ovf];
    out->local_cap = pol->local_cap;
    out->limit_in = pol->limit_in[peer_index];
    bpf_spin_unlock(&pol->lock);
    return 0;
}

#endif
