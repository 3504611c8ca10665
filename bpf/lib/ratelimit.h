/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Sliding one-second rate windows for the caps (local cap, forwarded-in limits, SYN guard).
 * The caps count confirmed connections: a SYN is checked against the window (rate_below) and
 * charged when the client's ACK proves its address (ct_charge_admission).
 * Two fixed one-second buckets weighted by the elapsed part of the current one give a smooth
 * estimate of the rate over the last second, like HAProxy's http_req_rate(1s), with O(1) state.
 * The windows live in maps of their own: policy writes never reset them.
 */
#ifndef DFAAS_BPF_RATELIMIT_H
#define DFAAS_BPF_RATELIMIT_H

#include "lib/common.h"

/* Rolls the window forward to `now`; call with the lock held. */
DFAAS_INLINE void rate_roll(struct dfaas_rate *r, __u64 now) {
    __u64 elapsed = now - r->window_start_ns;
    if (elapsed >= 2 * NSEC_PER_SEC || now < r->window_start_ns) {
        r->previous = 0;
        r->current = 0;
        r->window_start_ns = now;
    } else if (elapsed >= NSEC_PER_SEC) {
        r->previous = r->current;
        r->current = 0;
        r->window_start_ns += NSEC_PER_SEC;
    }
}

/* Estimated events in the last second; call with the lock held after rate_roll. */
DFAAS_INLINE __u64 rate_estimate(const struct dfaas_rate *r, __u64 now) {
    __u64 elapsed = now - r->window_start_ns;
    if (elapsed > NSEC_PER_SEC) elapsed = NSEC_PER_SEC;
    return (__u64)r->previous * (NSEC_PER_SEC - elapsed) / NSEC_PER_SEC + r->current;
}

/* Whether the rate over the last second is below `limit`, without counting: a new connection
 * is admitted by this and counted (rate_count) only when its handshake is confirmed, so SYNs from
 * spoofed sources never spend the limit (lib/ct.h, ct_charge_admission). */
DFAAS_INLINE int rate_below(struct dfaas_rate *r, __u32 limit, __u64 now) {
    int below;
    bpf_spin_lock(&r->lock);
    rate_roll(r, now);
    below = rate_estimate(r, now) < limit;
    bpf_spin_unlock(&r->lock);
    return below;
}

/* Counts one event without a limit and returns the estimate including it. */
DFAAS_INLINE __u64 rate_count(struct dfaas_rate *r, __u64 now) {
    __u64 estimate;
    bpf_spin_lock(&r->lock);
    rate_roll(r, now);
    r->current += 1;
    estimate = rate_estimate(r, now);
    bpf_spin_unlock(&r->lock);
    return estimate;
}

#endif
