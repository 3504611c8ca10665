/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Connection tracking. One LRU table holds two kinds of entries:
 *  - ORIGINAL, keyed by the client's tuple towards the function port: the decision (path, peer,
 *    DNAT target) and the connection's TCP state;
 *  - REPLY, keyed by the tuple the local gateway answers from after DNAT: where to restore the
 *    source (and, for forwarded-in connections, which node to send the reply back to).
 * The state lives in the ORIGINAL entry only; the agent's garbage collector expires a REPLY entry
 * together with its ORIGINAL one.
 */
#ifndef DFAAS_BPF_CT_H
#define DFAAS_BPF_CT_H

#include "lib/maps.h"
#include "lib/parse.h"

DFAAS_INLINE void ct_key_init(struct dfaas_ct_key *key, __u32 client_addr, __u32 service_addr,
                              __u16 client_port, __u16 service_port, __u8 dir) {
    __builtin_memset(key, 0, sizeof(*key));
    key->client_addr = client_addr;
    key->service_addr = service_addr;
    key->client_port = client_port;
    key->service_port = service_port;
    key->dir = dir;
}

DFAAS_INLINE struct dfaas_ct_entry *ct_lookup(const struct dfaas_ct_key *key) {
    return bpf_map_lookup_elem(&dfaas_ct, key);
}

DFAAS_INLINE int ct_insert(const struct dfaas_ct_key *key, const struct dfaas_ct_entry *entry) {
    return bpf_map_update_elem(&dfaas_ct, key, entry, BPF_ANY);
}

/* Refreshes last_seen at most once per DFAAS_CT_REFRESH_NS: a write per packet would bounce the
 * entry's cache line between CPUs for a timestamp the collector only needs to the second. */
DFAAS_INLINE void ct_touch(struct dfaas_ct_entry *ct, __u64 now) {
    if (now - ct->last_seen_ns > DFAAS_CT_REFRESH_NS) ct->last_seen_ns = now;
}

/* A SYN for a tuple whose tracked connection already ended starts a new connection. */
DFAAS_INLINE int ct_is_finished(const struct dfaas_ct_entry *ct) {
    return ct->state >= DFAAS_TCP_CLOSED ||
           (ct->flags & (DFAAS_CT_F_CLIENT_FIN | DFAAS_CT_F_SERVER_FIN)) ==
               (DFAAS_CT_F_CLIENT_FIN | DFAAS_CT_F_SERVER_FIN);
}

/* State transitions driven by the client's packets. */
DFAAS_INLINE void ct_client_packet(struct dfaas_ct_entry *ct, __u8 flags) {
    if (flags & TCP_FLAG_RST) {
        ct->state = DFAAS_TCP_CLOSED;
        return;
    }
    if (flags & TCP_FLAG_FIN) {
        ct->flags |= DFAAS_CT_F_CLIENT_FIN;
        ct->state = (ct->flags & DFAAS_CT_F_SERVER_FIN) ? DFAAS_TCP_CLOSED : DFAAS_TCP_CLOSING;
        return;
    }
    if ((flags & (TCP_FLAG_ACK | TCP_FLAG_SYN)) == TCP_FLAG_ACK && ct->state < DFAAS_TCP_ESTABLISHED)
        ct->state = DFAAS_TCP_ESTABLISHED;
}

/* State transitions driven by the server's packets. */
DFAAS_INLINE void ct_server_packet(struct dfaas_ct_entry *ct, __u8 flags) {
    ct->flags |= DFAAS_CT_F_SEEN_REPLY;
    if (flags & TCP_FLAG_RST) {
        ct->state = DFAAS_TCP_CLOSED;
        return;
    }
    if (flags & TCP_FLAG_FIN) {
        ct->flags |= DFAAS_CT_F_SERVER_FIN;
        ct->state = (ct->flags & DFAAS_CT_F_CLIENT_FIN) ? DFAAS_TCP_CLOSED : DFAAS_TCP_CLOSING;
        return;
    }
    if ((flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == (TCP_FLAG_SYN | TCP_FLAG_ACK) &&
        ct->state == DFAAS_TCP_SYN_SENT)
        ct->state = DFAAS_TCP_SYN_RECV;
}

/* Fills a new ORIGINAL entry. */
DFAAS_INLINE void ct_entry_init(struct dfaas_ct_entry *e, __u8 path, __u32 function_id,
                                __u32 peer_addr, __u8 peer_index, __u32 nat_addr, __u16 nat_port,
                                __u64 now) {
    __builtin_memset(e, 0, sizeof(*e));
    e->created_ns = now;
    e->last_seen_ns = now;
    e->peer_addr = peer_addr;
    e->nat_addr = nat_addr;
    e->nat_port = nat_port;
    e->function_id = function_id;
    e->path = path;
    e->state = DFAAS_TCP_SYN_SENT;
    e->peer_index = peer_index;
}

/*
 * Inserts the ORIGINAL entry and, for paths that DNAT to the gateway, the REPLY entry the egress
 * program uses to restore the source. Returns 0 on success.
 */
DFAAS_INLINE int ct_create(const struct dfaas_pkt *pkt, const struct dfaas_ct_entry *orig,
                           int with_reply) {
    struct dfaas_ct_key key;
    struct dfaas_ct_entry reply;

    ct_key_init(&key, pkt->saddr, pkt->daddr, pkt->sport, pkt->dport, DFAAS_CT_ORIGINAL);
    if (ct_insert(&key, orig)) return -1;
    if (!with_reply) return 0;

    ct_key_init(&key, pkt->saddr, orig->nat_addr, pkt->sport, orig->nat_port, DFAAS_CT_REPLY);
    reply = *orig;
    reply.nat_addr = pkt->daddr; /* the service address the client called */
    reply.nat_port = pkt->dport;
    if (ct_insert(&key, &reply)) {
        ct_key_init(&key, pkt->saddr, pkt->daddr, pkt->sport, pkt->dport, DFAAS_CT_ORIGINAL);
        bpf_map_delete_elem(&dfaas_ct, &key);
        return -1;
    }
    return 0;
}

#endif
