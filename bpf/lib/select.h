/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Target selection for a new connection. The control library lays out each policy's two tables
 * (the weighted table and the overflow table) in smooth weighted round robin order, one cycle of
 * the weights long; a pick takes the next number of the function's sequence for that table
 * (dfaas_select_seq, one atomic add) and reads slot seq % length. Any window of one cycle's
 * length of consecutive picks then holds each target exactly its weight, and shorter windows are
 * as even as integers allow, whatever the clients' tuples: a 60/40 policy sends 3 of every 5
 * connections local, not a binomial draw. The policy value is read under its spin lock: the agent
 * writes it with BPF_F_LOCK, so a reader sees the old or the new policy, never a mix.
 */
#ifndef DFAAS_BPF_SELECT_H
#define DFAAS_BPF_SELECT_H

#include "lib/maps.h"
#include "lib/parse.h"

/* What selection hands to the path code. */
struct dfaas_choice {
    struct dfaas_slot slot;     /* weighted pick (DFAAS_PICK_WEIGHTED only) */
    struct dfaas_slot overflow; /* the overflow table's next slot, read with the same policy */
    __u32 version;              /* of the policy read */
    __u64 overflow_seq;         /* the overflow sequence number `overflow` was read at */
    __u32 local_cap;
    __u32 limit_in; /* forwarded-in cap for the sending peer (forwarded-in only) */
    __u32 installed;
};

/* read_policy's `pick`: whether the caller is a new user connection that takes the next slot of
 * the weighted table. Other readers (forwarded-in admission) leave the sequence alone. */
#define DFAAS_PICK_NONE 0
#define DFAAS_PICK_WEIGHTED 1

/* A 32-bit mix of the connection tuple (murmur3-style finalizer rounds). Selection no longer
 * uses it; it picks the client ports lib/ct.h remaps to and samples monitor events. */
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

/* The slot of pick number `seq` in a table of `len` slots per cycle. A length of 0 or above the
 * table (never written by this ABI's control library) reads the whole table: its slots after the
 * cycle repeat the cycle, so that still follows the weights. The mask bounds the index for the
 * verifier. */
DFAAS_INLINE __u32 slot_index(__u64 seq, __u32 len) {
    if (len == 0 || len > DFAAS_SELECT_SLOTS) len = DFAAS_SELECT_SLOTS;
    return (__u32)(seq % len) & (DFAAS_SELECT_SLOTS - 1);
}

/* Reads what a new connection of `function_id` needs from its policy, all under one lock so a
 * decision never mixes two policies (tests/bpf/stress_test.cpp). With DFAAS_PICK_WEIGHTED it takes
 * the next slot of the weighted table, and reads the overflow table's next slot without taking
 * it: most new connections never overflow, and only take_overflow advances that sequence. */
DFAAS_INLINE int read_policy(__u32 function_id, __u32 pick, __u32 peer_index,
                             struct dfaas_choice *out) {
    struct dfaas_policy *pol = bpf_map_lookup_elem(&dfaas_policies, &function_id);
    struct dfaas_select_seq *seq;
    __u64 weighted = 0;

    if (!pol) return -1;
    out->overflow_seq = 0;
    if (pick == DFAAS_PICK_WEIGHTED) {
        seq = bpf_map_lookup_elem(&dfaas_select_seq, &function_id);
        if (seq) {
            weighted = __sync_fetch_and_add(&seq->weighted, 1);
            out->overflow_seq = *(volatile __u64 *)&seq->overflow;
        }
    }
    peer_index &= DFAAS_MAX_PEERS - 1;
    bpf_spin_lock(&pol->lock);
    out->installed = pol->flags & DFAAS_POL_F_INSTALLED;
    out->version = pol->version;
    out->slot = pol->table[slot_index(weighted, pol->table_len)];
    out->overflow = pol->overflow[slot_index(out->overflow_seq, pol->overflow_len)];
    out->local_cap = pol->local_cap;
    out->limit_in = pol->limit_in[peer_index];
    bpf_spin_unlock(&pol->lock);
    return 0;
}

/* Takes the overflow slot read_policy read (the weighted pick was local and the local cap is
 * reached): advances the overflow sequence past it if no other CPU took that number meanwhile.
 * If one did, takes the next free number and reads its slot, provided the policy is still the
 * version read; otherwise keeps the slot read (one slot repeated rather than a decision mixing
 * two policies; both races together are rare). */
DFAAS_INLINE struct dfaas_slot take_overflow(__u32 function_id, const struct dfaas_choice *choice) {
    struct dfaas_select_seq *seq = bpf_map_lookup_elem(&dfaas_select_seq, &function_id);
    struct dfaas_slot slot = choice->overflow;
    struct dfaas_policy *pol;
    __u64 taken;

    if (!seq) return slot;
    if (__sync_val_compare_and_swap(&seq->overflow, choice->overflow_seq,
                                    choice->overflow_seq + 1) == choice->overflow_seq)
        return slot;
    taken = __sync_fetch_and_add(&seq->overflow, 1);
    pol = bpf_map_lookup_elem(&dfaas_policies, &function_id);
    if (!pol) return slot;
    bpf_spin_lock(&pol->lock);
    if (pol->version == choice->version) slot = pol->overflow[slot_index(taken, pol->overflow_len)];
    bpf_spin_unlock(&pol->lock);
    return slot;
}

#endif
