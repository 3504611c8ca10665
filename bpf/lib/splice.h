/* SPDX-License-Identifier: GPL-2.0 */
/* Splicing two TCP sockets in the kernel (the entry port, issue 18): the bytes one socket
 * receives are sent out of its paired socket without a copy through userspace.
 *
 * Two SOCKHASHes, both keyed by a socket cookie:
 *  - dfaas_splice_sources holds the sockets whose receive path the verdict program runs on (the
 *    program is attached to this map). A socket enters it only once userspace has taken what it
 *    reads itself (the request head): from then on the verdict owns its receive queue.
 *  - dfaas_splice_targets holds every socket under the cookie of its PAIRED socket, and has no
 *    program: being a redirect target must not divert the socket's own receive path. This is what
 *    lets the upstream socket be spliced (its replies redirected to the client) before the client
 *    socket is, so no reply byte can arrive before its route exists.
 * The verdict therefore needs no pair table: the target of a socket's bytes is the entry of
 * dfaas_splice_targets under its own cookie. Closing a socket removes it from both maps. */
#ifndef DFAAS_BPF_SPLICE_H
#define DFAAS_BPF_SPLICE_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

/* Userspace sizes both maps (2 x entry.max_connections) before loading. */
#define DFAAS_SPLICE_DEFAULT_ENTRIES 8192

struct {
    __uint(type, BPF_MAP_TYPE_SOCKHASH);
    __uint(max_entries, DFAAS_SPLICE_DEFAULT_ENTRIES);
    __type(key, __u64);
    __type(value, __u64);
} dfaas_splice_sources SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_SOCKHASH);
    __uint(max_entries, DFAAS_SPLICE_DEFAULT_ENTRIES);
    __type(key, __u64);
    __type(value, __u64);
} dfaas_splice_targets SEC(".maps");

/* Counters: [0] skbs redirected, [1] skbs dropped because the paired socket was gone (it closed:
 * the connection is ending, the bytes have nowhere to go). Per CPU, summed by userspace. */
enum dfaas_splice_counter {
    DFAAS_SPLICE_REDIRECTED = 0,
    DFAAS_SPLICE_NO_PEER = 1,
    DFAAS_SPLICE_COUNTERS = 2,
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, DFAAS_SPLICE_COUNTERS);
    __type(key, __u32);
    __type(value, __u64);
} dfaas_splice_counters SEC(".maps");

static __always_inline void splice_count(__u32 which) {
    __u64 *value = bpf_map_lookup_elem(&dfaas_splice_counters, &which);
    if (value) *value += 1;
}

/* bpf_cast_to_kern_ctx: the sk_buff behind the program's context (read-only). */
extern void *bpf_cast_to_kern_ctx(void *ctx) __ksym;

/* The stream parser: every chunk TCP delivers is a message of its own (no framing), from the
 * strparser's offset to the end of the skb.
 *
 * Why a parser at all: without one (verdict-only mode) the kernel hands the verdict whole skbs
 * from sk_receive_queue through tcp_read_skb(), ignoring how much of the first one recv() already
 * took, so the bytes of the request head that userspace consumed would be sent a second time
 * (seen on 6.18 with a head and a body in one write). With a parser the strparser reads through
 * tcp_read_sock(), which starts at copied_seq, and the redirect sends from the message's offset.
 *
 * Why not `return skb->len`: the parser sees the strparser's clone of the WHOLE skb, whose
 * message starts at strp_msg.offset (non-zero for the skb userspace partly consumed). skb->len
 * would announce a message longer than what is there, and the strparser would hold those bytes
 * until that many more arrived (a body stranded). The offset lives in the skb's control block
 * (struct sk_skb_cb, strp.strp.offset), read through the kernel's view of the context. */
/* A message longer than the socket's receive buffer is an error to the strparser (EMSGSIZE: it
 * fails the socket), and loopback coalesces segments into skbs larger than that: messages are cut
 * at half the receive buffer, at most this many bytes (the strparser calls again for the rest of
 * the skb). */
#define DFAAS_SPLICE_MAX_MESSAGE 65536

static __always_inline int splice_stream_parser(struct __sk_buff *skb) {
    struct sk_buff *kskb = bpf_cast_to_kern_ctx(skb);
    int offset = 0;
    bpf_probe_read_kernel(
        &offset, sizeof(offset),
        (char *)kskb->cb + __builtin_offsetof(struct sk_skb_cb, strp.strp.offset));
    struct sock *sk = NULL;
    bpf_probe_read_kernel(&sk, sizeof(sk), &kskb->sk);
    int rcvbuf = 0;
    if (sk) bpf_probe_read_kernel(&rcvbuf, sizeof(rcvbuf), &sk->sk_rcvbuf);
    __u32 limit = DFAAS_SPLICE_MAX_MESSAGE;
    if (rcvbuf > 1 && (__u32)rcvbuf / 2 < limit) limit = (__u32)rcvbuf / 2;
    __u32 available = skb->len;
    if (offset > 0 && (__u32)offset < skb->len) available = skb->len - (__u32)offset;
    return (int)(available < limit ? available : limit);
}

/* The stream verdict: every skb a source socket receives goes to the egress of its paired socket
 * (flags 0 = egress: sent to the peer of that socket). When the pair is gone the helper returns
 * SK_DROP, which is the answer too. */
static __always_inline int splice_stream_verdict(struct __sk_buff *skb) {
    __u64 cookie = bpf_get_socket_cookie(skb);
    long verdict = bpf_sk_redirect_hash(skb, &dfaas_splice_targets, &cookie, 0);
    splice_count(verdict == SK_PASS ? DFAAS_SPLICE_REDIRECTED : DFAAS_SPLICE_NO_PEER);
    return (int)verdict;
}

#endif /* DFAAS_BPF_SPLICE_H */
