/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Monitor events: what `dfaasctl monitor` shows live (a new connection and its decision, a
 * reject, a forwarded-in connection accepted or refused), written to the dfaas_events ring
 * buffer. Each decision point calls one event_*() line.
 *
 * Cost control, in this order:
 *   - off unless a monitor holds the lease in dfaas_event_config (expires_ns, renewed every
 *     second by the monitor, zeroed when it exits): with no monitor an event costs one array
 *     lookup and a compare, no clock read;
 *   - the types the monitor asked for (type_mask);
 *   - sampled by connection: kept when the tuple's hash is 0 mod sample_every, so the events of
 *     one connection are kept or dropped together (event_sampled_out);
 *   - a token bucket per CPU, rate_per_cpu events/s with a burst of one second
 *     (event_rate_limited);
 *   - a full ring loses the event, counted (event_ring_full); event_sent counts the others.
 */
#ifndef DFAAS_BPF_EVENTS_H
#define DFAAS_BPF_EVENTS_H

#include "lib/maps.h"
#include "lib/stats.h"
#include "lib/parse.h"
#include "lib/select.h"

/* Seed of the sampling hash: not the selection's seed, so a sample of 1 in N does not keep
 * only the connections of some selection slots. */
#define DFAAS_EVENT_SAMPLE_SEED 0x6d6f6e69746f72ull
/* Upper bound of rate_per_cpu the program honours (the CLI refuses more): keeps
 * rate * NSEC_PER_SEC far from overflowing. */
#define DFAAS_EVENT_RATE_MAX 1000000u

DFAAS_INLINE struct dfaas_event_config *event_config(void) {
    __u32 zero = 0;
    return bpf_map_lookup_elem(&dfaas_event_config, &zero);
}

/* Takes one event's token from this CPU's bucket; 0 when it is empty. */
DFAAS_INLINE int event_take_token(__u32 rate, __u64 now) {
    __u32 zero = 0;
    struct dfaas_event_state *st = bpf_map_lookup_elem(&dfaas_event_state, &zero);
    __u64 elapsed, tokens, cap;

    if (!st) return 0;
    if (rate > DFAAS_EVENT_RATE_MAX) rate = DFAAS_EVENT_RATE_MAX;
    cap = (__u64)rate * NSEC_PER_SEC;
    elapsed = now > st->last_refill_ns ? now - st->last_refill_ns : 0;
    if (elapsed > NSEC_PER_SEC) elapsed = NSEC_PER_SEC;
    tokens = st->tokens + elapsed * rate;
    if (tokens > cap) tokens = cap;
    st->last_refill_ns = now;
    if (tokens < NSEC_PER_SEC) {
        st->tokens = tokens;
        return 0;
    }
    st->tokens = tokens - NSEC_PER_SEC;
    return 1;
}

/* `what`: type | decision << 8 | peer_index << 16 (a global function takes at most 5
 * arguments). Out of line: only runs while a monitor is attached. */
DFAAS_SUBPROG int dfaas_emit_event(const struct dfaas_pkt *pkt, __u32 what, __u32 function_id,
                                   __u32 reason) {
    struct dfaas_event_config *ec = event_config();
    __u32 type = what & 0xff, decision = (what >> 8) & 0xff, peer_index = (what >> 16) & 0xff;
    __u64 now = dfaas_now();
    struct dfaas_peer_addr *peer;
    struct dfaas_event *ev;

    if (!pkt || !ec || now >= ec->expires_ns) return 0;
    if (ec->type_mask && !(ec->type_mask & DFAAS_EVENT_BIT(type))) return 0;
    if (ec->sample_every > 1 && tuple_hash(pkt, DFAAS_EVENT_SAMPLE_SEED) % ec->sample_every) {
        count_reason(DFAAS_R_EVENT_SAMPLED_OUT);
        return 0;
    }
    if (ec->rate_per_cpu && !event_take_token(ec->rate_per_cpu, now)) {
        count_reason(DFAAS_R_EVENT_RATE_LIMITED);
        return 0;
    }
    ev = bpf_ringbuf_reserve(&dfaas_events, sizeof(*ev), 0);
    if (!ev) {
        count_reason(DFAAS_R_EVENT_RING_FULL);
        return 0;
    }
    __builtin_memset(ev, 0, sizeof(*ev));
    ev->time_ns = now;
    ev->client_addr = pkt->saddr;
    ev->service_addr = pkt->daddr;
    ev->client_port = pkt->sport;
    ev->service_port = pkt->dport;
    ev->function_id = function_id;
    ev->type = type;
    ev->decision = decision;
    ev->reason = reason;
    ev->peer_index = peer_index;
    if (type == DFAAS_EVENT_FORWARD_IN) {
        ev->peer_addr = pkt->outer_saddr;
    } else if (decision == DFAAS_ACTION_PEER) {
        peer_index &= DFAAS_MAX_PEERS - 1;
        peer = bpf_map_lookup_elem(&dfaas_peer_addrs, &peer_index);
        if (peer) ev->peer_addr = peer->addr;
    }
    bpf_ringbuf_submit(ev, 0);
    count_reason(DFAAS_R_EVENT_SENT);
    return 0;
}

/* The cheap test every event line pays: is a monitor attached at all? */
DFAAS_INLINE void event_emit(const struct dfaas_pkt *pkt, __u32 type, __u32 decision,
                             __u32 peer_index, __u32 function_id, __u32 reason) {
    struct dfaas_event_config *ec = event_config();

    if (likely(!ec || !ec->expires_ns)) return;
    dfaas_emit_event(pkt, type | (decision & 0xff) << 8 | (peer_index & 0xff) << 16, function_id,
                     reason);
}

/* A user SYN's decision: `slot` as it will be carried out, `reason` why (abi.h, dfaas_event). */
DFAAS_INLINE void event_new_connection(const struct dfaas_pkt *pkt, __u32 function_id,
                                       struct dfaas_slot slot, __u32 reason) {
    if (slot.action != DFAAS_ACTION_LOCAL && slot.action != DFAAS_ACTION_PEER &&
        slot.action != DFAAS_ACTION_REJECT)
        return;
    event_emit(pkt, DFAAS_EVENT_NEW_CONNECTION, slot.action, slot.peer, function_id, reason);
}

/* A rejected user connection: `reason` is rst_sent or drop_reject. */
DFAAS_INLINE void event_reject(const struct dfaas_pkt *pkt, __u32 function_id, __u32 reason) {
    event_emit(pkt, DFAAS_EVENT_REJECT, DFAAS_ACTION_REJECT, 0, function_id, reason);
}

/* A forwarded-in SYN: `decision` LOCAL (accepted, served here) or REJECT (refused). */
DFAAS_INLINE void event_forward_in(const struct dfaas_pkt *pkt, __u32 function_id, __u32 peer_index,
                                   __u32 decision, __u32 reason) {
    event_emit(pkt, DFAAS_EVENT_FORWARD_IN, decision, peer_index, function_id, reason);
}

#endif
