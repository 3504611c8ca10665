/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Address and port rewrites with the kernel's checksum helpers. Never hand-rolled sums: the
 * helpers know the skb's checksum state (CHECKSUM_PARTIAL packets from local sockets keep only the
 * pseudo-header seed in the field, and only pseudo-header changes may touch it).
 */
#ifndef DFAAS_BPF_CSUM_H
#define DFAAS_BPF_CSUM_H

#include "lib/common.h"

#define IP_SADDR_OFF 12
#define IP_DADDR_OFF 16
#define TCP_SPORT_OFF 0
#define TCP_DPORT_OFF 2

/* Replaces the IPv4 address at l3_off + field (source or destination) and both checksums. */
DFAAS_INLINE int rewrite_addr(struct __sk_buff *skb, __u32 l3_off, __u32 l4_off, __u32 field,
                              __u32 old_addr, __u32 new_addr) {
    if (old_addr == new_addr) return 0;
    if (bpf_l4_csum_replace(skb, l4_off + TCP_CSUM_OFF, old_addr, new_addr,
                            BPF_F_PSEUDO_HDR | sizeof(new_addr)))
        return -1;
    if (bpf_l3_csum_replace(skb, l3_off + IP_CSUM_OFF, old_addr, new_addr, sizeof(new_addr)))
        return -1;
    return bpf_skb_store_bytes(skb, l3_off + field, &new_addr, sizeof(new_addr), 0);
}

/* Replaces the TCP port at l4_off + field (source or destination) and the TCP checksum. */
DFAAS_INLINE int rewrite_port(struct __sk_buff *skb, __u32 l4_off, __u32 field, __u16 old_port,
                              __u16 new_port) {
    if (old_port == new_port) return 0;
    if (bpf_l4_csum_replace(skb, l4_off + TCP_CSUM_OFF, old_port, new_port, sizeof(new_port)))
        return -1;
    return bpf_skb_store_bytes(skb, l4_off + field, &new_port, sizeof(new_port), 0);
}

/* Writes the checksum of a freshly built IPv4 header whose check field is zero. */
DFAAS_INLINE int finish_ipv4_csum(struct __sk_buff *skb, __u32 l3_off, struct iphdr *hdr) {
    __s64 sum = bpf_csum_diff(0, 0, (__be32 *)hdr, sizeof(*hdr), 0);
    if (sum < 0) return -1;
    /* size 0 = "add this diff": applied to a zero field it yields the folded complement. */
    return bpf_l3_csum_replace(skb, l3_off + IP_CSUM_OFF, 0, (__u32)sum, 0);
}

#endif
