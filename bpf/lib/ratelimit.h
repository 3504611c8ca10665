/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Sliding one-second rate windows for the caps (local cap, forwarded-in limits, SYN guard).
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

/* Admits one event if the rate over the last second is below `limit` (and counts it). */
DFAAS_INLINE int rate_admit(struct dfaas_rate *r, __u32 limit, __u64 now) {
    int admitted;
    bpf_spin_lock(&r->lock);
    rate_roll(r, now);
    admitted = rate_estimate(r, now) < limit;
    if (admitted) r->current += 1;
    bpf_spin_unlock(&r->lock);
    return admitted;
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
