/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Next hop for packets the data plane sends itself (encapsulated to a peer, decapsulated to the
 * client). bpf_fib_lookup gives the MAC addresses directly, so the packet leaves with one
 * redirect (or, at egress, simply continues). The kernel answers it only on devices with IPv4
 * forwarding enabled (k8s nodes have it); elsewhere, and while a neighbour is unresolved,
 * bpf_redirect_neigh does the route and neighbour work itself.
 */
#ifndef DFAAS_BPF_FIB_H
#define DFAAS_BPF_FIB_H

#include "lib/stats.h"

/*
 * Sends the packet (Ethernet header at offset 0) towards `dst`. At egress, a packet already on
 * the right device continues with TC_ACT_OK; otherwise it is redirected.
 */
DFAAS_INLINE int send_towards(struct __sk_buff *skb, __u32 dst, int at_egress) {
    struct bpf_fib_lookup fib = {};
    long rc;

    fib.family = AF_INET_NR;
    fib.ipv4_dst = dst;
    fib.ifindex = skb->ifindex;
    rc = bpf_fib_lookup(skb, &fib, sizeof(fib), BPF_FIB_LOOKUP_OUTPUT);
    if (rc == BPF_FIB_LKUP_RET_SUCCESS) {
        if (bpf_skb_store_bytes(skb, 0, fib.dmac, ETH_ALEN, 0) ||
            bpf_skb_store_bytes(skb, ETH_ALEN, fib.smac, ETH_ALEN, 0)) {
            count_reason(DFAAS_R_DROP_NAT);
            return TC_ACT_SHOT;
        }
        if (at_egress && fib.ifindex == skb->ifindex) return TC_ACT_OK;
        return bpf_redirect(fib.ifindex, 0);
    }
    if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
        struct bpf_redir_neigh nh = {};
        nh.nh_family = AF_INET_NR;
        nh.ipv4_nh = fib.ipv4_dst;
        count_reason(DFAAS_R_FIB_NEIGH_FALLBACK);
        return bpf_redirect_neigh(fib.ifindex, &nh, sizeof(nh), 0);
    }
    if (rc == BPF_FIB_LKUP_RET_FWD_DISABLED) {
        /* The kernel routes the packet's destination and resolves the neighbour. */
        count_reason(DFAAS_R_FIB_NEIGH_FALLBACK);
        return bpf_redirect_neigh(skb->ifindex, 0, 0, 0);
    }
    count_reason(rc == BPF_FIB_LKUP_RET_FRAG_NEEDED ? DFAAS_R_DROP_MTU : DFAAS_R_DROP_FIB);
    return TC_ACT_SHOT;
}

#endif
