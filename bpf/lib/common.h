/* SPDX-License-Identifier: GPL-2.0 */
/* Includes, constants and small helpers every subsystem uses. */
#ifndef DFAAS_BPF_COMMON_H
#define DFAAS_BPF_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "dfaas/abi.h"

/* vmlinux.h carries types and enums, not the #defines of the UAPI headers. */
#define ETH_HLEN 14
#define ETH_ALEN 6
#define ETH_P_IP 0x0800
#define IPPROTO_IPIP_NR 4
#define IPPROTO_TCP_NR 6
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff
#define IP_DF 0x4000
#define AF_INET_NR 2

#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_ACK 0x10

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define TC_ACT_REDIRECT 7

/* Offsets of checksum fields inside their headers. */
#define IP_CSUM_OFF 10
#define TCP_CSUM_OFF 16

#define NSEC_PER_SEC 1000000000ull

#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

#define DFAAS_INLINE static __always_inline

/*
 * The data plane's clock: CLOCK_MONOTONIC_COARSE (tick resolution, a few ms). Conntrack ages and
 * one-second rate windows need nothing finer, and it costs a fraction of bpf_ktime_get_ns() on
 * virtual machines whose clock read traps. Userspace compares with the same clock.
 */
#define dfaas_now() bpf_ktime_get_coarse_ns()

/*
 * A global BPF function: the verifier checks it once, on its own, with its arguments typed from
 * BTF, instead of once per path that reaches it. Used to cut the data plane into pieces the
 * verifier can prove quickly (the inlined whole exceeds the 1M-instruction budget). Pointer
 * arguments may be NULL as far as the verifier knows, so every such function checks them.
 */
#define DFAAS_SUBPROG __attribute__((noinline))

/*
 * skb->data and skb->data_end read through inline asm: clang otherwise may compute the address
 * of the field once and reuse it with an offset ("dereference of modified ctx ptr"), which the
 * verifier refuses for the context.
 */
DFAAS_INLINE void *skb_data(struct __sk_buff *skb) {
    void *data;
    asm volatile("%0 = *(u32 *)(%1 + %2)"
                 : "=r"(data)
                 : "r"(skb), "i"(__builtin_offsetof(struct __sk_buff, data)));
    return data;
}

DFAAS_INLINE void *skb_data_end(struct __sk_buff *skb) {
    void *end;
    asm volatile("%0 = *(u32 *)(%1 + %2)"
                 : "=r"(end)
                 : "r"(skb), "i"(__builtin_offsetof(struct __sk_buff, data_end)));
    return end;
}

/* The IPv4 header size of the outer header we push when encapsulating. */
#define IPIP_OVERHEAD 20
/* Worst case of IPv4 + TCP headers without options: MSS = MTU - 40, minus the outer header. */
#define MSS_HEADROOM (IPIP_OVERHEAD + 40)

#endif
