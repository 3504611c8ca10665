/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Connection tracking: one LRU table, one entry per connection.
 *  - Connections this node DNATs to its gateway (LOCAL, FORWARDED_IN) are keyed by the tuple
 *    after DNAT, client -> gateway: ingress rebuilds it from the configured gateway, egress reads
 *    it off the gateway's reply, so both directions find the same entry with one lookup and the
 *    TCP state of both directions lives in it. The entry keeps the function address:port the
 *    client called, restored at egress.
 *  - Connections without DNAT here (FORWARD, REJECT) are keyed by the client's tuple as sent.
 * Two connections of one client tuple to two function ports of this node would meet at the
 * gateway as one socket tuple; the second is refused (DFAAS_R_CT_COLLISION) instead of mixed.
 */
#ifndef DFAAS_BPF_CT_H
#define DFAAS_BPF_CT_H

#include "lib/maps.h"
#include "lib/parse.h"

DFAAS_INLINE void ct_key_init(struct dfaas_ct_key *key, __u32 client_addr, __u32 service_addr,
                              __u16 client_port, __u16 service_port, __u8 kind) {
    __builtin_memset(key, 0, sizeof(*key));
    key->client_addr = client_addr;
    key->service_addr = service_addr;
    key->client_port = client_port;
    key->service_port = service_port;
    key->kind = kind;
}

/* Key of a client's packet (pkt src = client) that this node DNATs to its gateway. */
DFAAS_INLINE void ct_key_gateway(struct dfaas_ct_key *key, const struct dfaas_pkt *pkt,
                                 const struct dfaas_config *cfg) {
    ct_key_init(key, pkt->saddr, cfg->gateway_addr, pkt->sport, cfg->gateway_port,
                DFAAS_CT_BY_GATEWAY);
}

/* Key of a client's packet (pkt src = client) as sent, towards the function address. */
DFAAS_INLINE void ct_key_service(struct dfaas_ct_key *key, const struct dfaas_pkt *pkt) {
    ct_key_init(key, pkt->saddr, pkt->daddr, pkt->sport, pkt->dport, DFAAS_CT_BY_SERVICE);
}

DFAAS_INLINE struct dfaas_ct_entry *ct_lookup(const struct dfaas_ct_key *key) {
    return bpf_map_lookup_elem(&dfaas_ct, key);
}

DFAAS_INLINE int ct_insert(const struct dfaas_ct_key *key, const struct dfaas_ct_entry *entry) {
    return bpf_map_update_elem(&dfaas_ct, key, entry, BPF_ANY);
}

DFAAS_INLINE void ct_delete(const struct dfaas_ct_key *key) {
    bpf_map_delete_elem(&dfaas_ct, key);
}

DFAAS_INLINE int ct_serves(const struct dfaas_ct_entry *ct, const struct dfaas_pkt *pkt) {
    return ct->service_addr == pkt->daddr && ct->service_port == pkt->dport;
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
    if ((flags & (TCP_FLAG_ACK | TCP_FLAG_SYN)) == TCP_FLAG_ACK &&
        ct->state < DFAAS_TCP_ESTABLISHED)
        ct->state = DFAAS_TCP_ESTABLISHED;
}

/* State transitions driven by the server's packets. */
DFAAS_INLINE void ct_server_packet(struct dfaas_ct_entry *ct, __u8 flags) {
    if (!(ct->flags & DFAAS_CT_F_SEEN_REPLY)) ct->flags |= DFAAS_CT_F_SEEN_REPLY;
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

/* Scratch space for a new entry (see struct dfaas_ct_scratch). */
DFAAS_INLINE struct dfaas_ct_scratch *ct_scratch(void) {
    __u32 zero = 0;
    return bpf_map_lookup_elem(&dfaas_ct_scratch, &zero);
}

DFAAS_INLINE void ct_entry_init(struct dfaas_ct_entry *e, __u8 path, __u32 function_id,
                                __u32 peer_addr, __u8 peer_index, const struct dfaas_pkt *pkt,
                                __u64 now) {
    __builtin_memset(e, 0, sizeof(*e));
    e->created_ns = now;
    e->last_seen_ns = now;
    e->peer_addr = peer_addr;
    e->service_addr = pkt->daddr;
    e->service_port = pkt->dport;
    e->function_id = function_id;
    e->path = path;
    e->state = DFAAS_TCP_SYN_SENT;
    e->peer_index = peer_index;
}

#endif
