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
    /* A forwarding lookup (no BPF_FIB_LOOKUP_OUTPUT, which would only accept routes out of
     * skb->ifindex): a client on a second interface (a pod behind cni0) and its peer sit on
     * different devices. */
    rc = bpf_fib_lookup(skb, &fib, sizeof(fib), 0);
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

/* Next-hop MACs towards `dst` from the FIB; 0 when the kernel cannot say (no forwarding on the
 * device, neighbour unresolved): the caller then lets bpf_redirect_neigh resolve. */
DFAAS_INLINE int fib_macs(struct __sk_buff *skb, __u32 dst, struct dfaas_macs *out) {
    struct bpf_fib_lookup fib = {};

    fib.family = AF_INET_NR;
    fib.ipv4_dst = dst;
    fib.ifindex = skb->ifindex;
    if (bpf_fib_lookup(skb, &fib, sizeof(fib), 0) != BPF_FIB_LKUP_RET_SUCCESS ||
        fib.ifindex != skb->ifindex)
        return 0;
    __builtin_memcpy(out->dst, fib.dmac, ETH_ALEN);
    __builtin_memcpy(out->src, fib.smac, ETH_ALEN);
    return 1;
}

/* The packet's own Ethernet addresses, reversed: where a reply to it goes. */
DFAAS_INLINE int reply_macs(struct __sk_buff *skb, struct dfaas_macs *out) {
    struct ethhdr *eth = skb_data(skb);

    if ((void *)(eth + 1) > skb_data_end(skb)) return 0;
    __builtin_memcpy(out->dst, eth->h_source, ETH_ALEN);
    __builtin_memcpy(out->src, eth->h_dest, ETH_ALEN);
    return 1;
}

/* Sends with known next-hop MACs out of the device the program runs on. Ingress writes them
 * directly; egress with a store (lib/csum.h says why). */
DFAAS_INLINE int send_with_macs(struct __sk_buff *skb, const struct dfaas_macs *macs,
                                int at_egress) {
    struct ethhdr *eth;

    if (at_egress) {
        if (bpf_skb_store_bytes(skb, 0, macs, sizeof(*macs), 0)) {
            count_reason(DFAAS_R_DROP_NAT);
            return TC_ACT_SHOT;
        }
        return TC_ACT_OK;
    }
    eth = skb_data(skb);
    if ((void *)(eth + 1) > skb_data_end(skb)) {
        count_reason(DFAAS_R_DROP_NAT);
        return TC_ACT_SHOT;
    }
    __builtin_memcpy(eth->h_dest, macs->dst, ETH_ALEN);
    __builtin_memcpy(eth->h_source, macs->src, ETH_ALEN);
    return bpf_redirect(skb->ifindex, 0);
}

#endif
