/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TC ingress: steers user connections to function ports (local, forward, reject), receives
 * connections forwarded by peers, and hands replies of forwarded connections back to clients.
 *
 *   user SYN to node:fport ........ select -> local (DNAT) | peer (IP-in-IP) | reject (RST)
 *   user packet, tracked .......... follow the connection's path
 *   IP-in-IP from a known peer .... inner src is us: reply of a connection we forwarded
 *                                   otherwise: forwarded-in connection, served locally
 *   anything else ................. passed untouched, counted by reason
 *
 * The work is cut into global BPF functions (DFAAS_SUBPROG): the verifier checks each once.
 */
#ifndef DFAAS_BPF_INGRESS_H
#define DFAAS_BPF_INGRESS_H

#include "lib/common.h"
#include "lib/maps.h"
#include "lib/stats.h"
#include "lib/parse.h"
#include "lib/csum.h"
#include "lib/ct.h"
#include "lib/ratelimit.h"
#include "lib/select.h"
#include "lib/encap.h"
#include "lib/fib.h"
#include "lib/reject.h"
#include "lib/http.h"
#include "lib/events.h"

DFAAS_INLINE int pass(__u32 reason) {
    count_reason(reason);
    return TC_ACT_OK;
}

DFAAS_INLINE int drop(__u32 reason) {
    count_reason(reason);
    return TC_ACT_SHOT;
}

/* The packet arrived on the uplink (cfg->ifindex, the first attached interface), where peers'
 * replies arrive too. Only there may remembered MACs go with a redirect back out of the same
 * device: a client on another interface (a pod behind cni0) is sent by the FIB instead. */
DFAAS_INLINE int on_uplink(const struct __sk_buff *skb, const struct dfaas_config *cfg) {
    return !cfg->ifindex || skb->ifindex == cfg->ifindex;
}

DFAAS_INLINE struct dfaas_rate *local_rate(__u32 function_id) {
    return bpf_map_lookup_elem(&dfaas_rate_local, &function_id);
}

DFAAS_INLINE __u32 stat_peer_path(__u32 peer_index) {
    return DFAAS_STAT_PEER_BASE + (peer_index & (DFAAS_MAX_PEERS - 1));
}

/* DNAT of the client's packet to the gateway (local and forwarded-in paths), and SNAT of its
 * source port to `gateway_port` when the connection was given another one (lib/ct.h). */
DFAAS_SUBPROG int dfaas_dnat(struct __sk_buff *skb, const struct dfaas_pkt *pkt,
                             __u32 gateway_port) {
    struct dfaas_config *cfg = load_config();

    if (!skb || !pkt || !cfg) return TC_ACT_SHOT;
    if (rewrite_dnat(skb, pkt, cfg->gateway_addr, cfg->gateway_port, (__u16)gateway_port))
        return drop(DFAAS_R_DROP_NAT);
    return TC_ACT_OK;
}

/* Answers the SYN with an RST out of the ingress device. Out of line: the coldest path, and its
 * buffers would otherwise add to every caller's stack frame. */
DFAAS_SUBPROG int dfaas_send_rst(struct __sk_buff *skb, struct dfaas_pkt *pkt) {
    if (!skb || !pkt || build_rst(skb, pkt)) return drop(DFAAS_R_RST_FAILED);
    count_reason(DFAAS_R_RST_SENT);
    return bpf_redirect(skb->ifindex, 0);
}

/* Sends the client's packet to a peer: clamp the MSS of a SYN, encapsulate, and send with the
 * connection's remembered next hop (`macs`, may be NULL: then the FIB decides). */
DFAAS_SUBPROG int dfaas_forward_to_peer(struct __sk_buff *skb, const struct dfaas_pkt *pkt,
                                        __u32 peer_addr, const struct dfaas_macs *macs) {
    struct dfaas_config *cfg = load_config();

    if (!skb || !pkt || !cfg) return TC_ACT_SHOT;
    if (pkt->tcp_flags & TCP_FLAG_SYN) {
        if (clamp_mss(skb, pkt, cfg->mtu - MSS_HEADROOM) > 0) count_reason(DFAAS_R_MSS_CLAMPED);
    }
    if (encap_ipip(skb, cfg->node_addr, peer_addr, 1)) return drop(DFAAS_R_DROP_ENCAP);
    count_reason(DFAAS_R_ENCAP_OUT);
    if (macs && on_uplink(skb, cfg)) return send_with_macs(skb, macs, 0);
    return send_towards(skb, peer_addr, 0);
}

/* `charge`: DFAAS_CT_F_CHARGE_LOCAL when the function is capped (charged at promotion).
 * `gateway_port`: the client port claimed at the gateway (dfaas_ct_claim_gateway_port). */
DFAAS_INLINE int start_local(struct __sk_buff *skb, const struct dfaas_pkt *pkt, __u32 function_id,
                             __u32 charge, __u16 gateway_port, __u64 now) {
    struct dfaas_ct_scratch *new = ct_scratch();

    if (!new) return drop(DFAAS_R_DROP_CT_INSERT);
    ct_key_client(&new->key, pkt);
    ct_entry_init(&new->entry, DFAAS_PATH_LOCAL, function_id, 0, 0, pkt, now);
    new->entry.flags |= charge;
    new->entry.gateway_port = gateway_port;
    if (ct_insert_half_open(&new->key, &new->entry)) return drop(DFAAS_R_DROP_CT_INSERT);
    count_reason(DFAAS_R_SYN_NEW);
    count_path(function_id, DFAAS_STAT_LOCAL, pkt->ip_len, 1, 0);
    return dfaas_dnat(skb, pkt, gateway_port);
}

DFAAS_INLINE int start_forward(struct __sk_buff *skb, const struct dfaas_pkt *pkt,
                               __u32 function_id, __u32 peer_index, __u64 now) {
    struct dfaas_ct_scratch *new = ct_scratch();
    struct dfaas_peer_addr *peer;
    struct dfaas_peer_stats *ps;
    struct dfaas_config *cfg;
    struct dfaas_macs macs;

    peer_index &= DFAAS_MAX_PEERS - 1;
    peer = bpf_map_lookup_elem(&dfaas_peer_addrs, &peer_index);
    if (!peer || !peer->addr) return drop(DFAAS_R_DROP_PEER_GONE);
    if (!new) return drop(DFAAS_R_DROP_CT_INSERT);
    ct_key_client(&new->key, pkt);
    ct_entry_init(&new->entry, DFAAS_PATH_FORWARD, function_id, peer->addr, peer_index, pkt, now);
    /* Next hops for the connection's life: the peer's from the FIB (when the kernel can say;
     * otherwise learned from the peer's first reply), the client's from its own SYN. */
    if (fib_macs(skb, peer->addr, &new->entry.peer_macs)) new->entry.flags |= DFAAS_CT_F_PEER_MACS;
    cfg = load_config();
    if (cfg && on_uplink(skb, cfg) && reply_macs(skb, &new->entry.client_macs))
        new->entry.flags |= DFAAS_CT_F_CLIENT_MACS;
    if (ct_insert_half_open(&new->key, &new->entry)) return drop(DFAAS_R_DROP_CT_INSERT);
    count_reason(DFAAS_R_SYN_NEW);
    count_path(function_id, stat_peer_path(peer_index), pkt->ip_len, 1, 0);
    ps = peer_stats(peer_index);
    if (ps) ps->syn_forwarded += 1;
    if (!(new->entry.flags &DFAAS_CT_F_PEER_MACS))
        return dfaas_forward_to_peer(skb, pkt, peer->addr, 0);
    macs = new->entry.peer_macs; /* to the stack: a global function takes no map value */
    return dfaas_forward_to_peer(skb, pkt, peer->addr, &macs);
}

DFAAS_INLINE int start_reject(struct __sk_buff *skb, const struct dfaas_config *cfg,
                              struct dfaas_pkt *pkt, __u32 function_id, __u64 syn_rate, __u64 now) {
    struct dfaas_ct_scratch *new;

    count_reason(DFAAS_R_SYN_NEW);
    count_path(function_id, DFAAS_STAT_REJECT, pkt->ip_len, 1, 0);
    event_reject(pkt, function_id,
                 cfg->reject_mode == DFAAS_REJECT_DROP ? DFAAS_R_DROP_REJECT : DFAAS_R_RST_SENT);
    if (cfg->reject_mode != DFAAS_REJECT_DROP) return dfaas_send_rst(skb, pkt);
    /* Silent drop: remember the decision so SYN retries are dropped (and counted) once,
     * unless a flood is on, in which case entries for doomed connections would only evict
     * live flows. */
    if (cfg->syn_guard_rate && syn_rate > cfg->syn_guard_rate) {
        count_reason(DFAAS_R_SYN_GUARD);
    } else if ((new = ct_scratch())) {
        ct_key_client(&new->key, pkt);
        ct_entry_init(&new->entry, DFAAS_PATH_REJECT, function_id, 0, 0, pkt, now);
        ct_insert_half_open(&new->key, &new->entry);
    }
    return drop(DFAAS_R_DROP_REJECT);
}

/*
 * New-connection rate over the last second, for the SYN-flood guard. Only reject mode "drop"
 * tracks rejected connections, so only then is the window kept (it costs a spin lock per SYN).
 */
DFAAS_INLINE __u64 syn_rate_now(const struct dfaas_config *cfg, __u64 now) {
    __u32 zero = 0;
    struct dfaas_rate *window;

    if (cfg->reject_mode != DFAAS_REJECT_DROP || !cfg->syn_guard_rate) return 0;
    window = bpf_map_lookup_elem(&dfaas_rate_syn, &zero);
    return window ? rate_count(window, now) : 0;
}

/* A new user connection: select a target from the function's policy. */
DFAAS_SUBPROG int dfaas_new_user_connection(struct __sk_buff *skb, struct dfaas_pkt *pkt,
                                            __u32 function_id) {
    struct dfaas_config *cfg = load_config();
    __u64 now = dfaas_now();
    struct dfaas_rate *local = local_rate(function_id);
    struct dfaas_choice choice = {};
    struct dfaas_slot slot;
    __u32 gateway_port = 0;
    __u64 syn_rate;

    if (!skb || !pkt || !cfg) return TC_ACT_OK;
    if (read_policy(function_id, DFAAS_PICK_WEIGHTED, 0, &choice) || !choice.installed)
        return pass(DFAAS_R_PASS_NO_POLICY);
    ct_port_track(pkt->dport);

    slot = choice.slot;
    /* The window is kept only for capped functions: a cap set later starts counting then. It
     * counts confirmed connections (lib/ct.h): this SYN is only checked against it here and
     * charged when its handshake completes, so spoofed SYNs do not spend the cap. */
    if (slot.action == DFAAS_ACTION_LOCAL && choice.local_cap && local &&
        !rate_below(local, choice.local_cap, now)) {
        count_reason(DFAAS_R_LOCAL_CAP_OVERFLOW);
        slot = take_overflow(function_id, &choice);
        if (slot.action != DFAAS_ACTION_PEER) slot.action = DFAAS_ACTION_REJECT;
        event_new_connection(pkt, function_id, slot, DFAAS_R_LOCAL_CAP_OVERFLOW);
    }
    if (slot.action == DFAAS_ACTION_LOCAL) {
        gateway_port = dfaas_ct_claim_gateway_port(pkt, cfg->hash_seed);
        if (!gateway_port) {
            /* Counted (nat_ports_exhausted): the overflow peer takes it, else refused. */
            slot = take_overflow(function_id, &choice);
            if (slot.action != DFAAS_ACTION_PEER) slot.action = DFAAS_ACTION_REJECT;
            event_new_connection(pkt, function_id, slot, DFAAS_R_NAT_PORTS_EXHAUSTED);
        }
    }
    if (slot.action == choice.slot.action)
        event_new_connection(pkt, function_id, slot, DFAAS_R_SYN_NEW);
    syn_rate = syn_rate_now(cfg, now); /* every new connection with a policy counts */
    switch (slot.action) {
        case DFAAS_ACTION_LOCAL:
            /* Still local with a cap: admitted under it, so it owes a charge (an overflow
             * slot is never local). */
            return start_local(skb, pkt, function_id,
                               choice.local_cap ? DFAAS_CT_F_CHARGE_LOCAL : 0, (__u16)gateway_port,
                               now);
        case DFAAS_ACTION_PEER:
            return start_forward(skb, pkt, function_id, slot.peer, now);
        case DFAAS_ACTION_REJECT:
            return start_reject(skb, cfg, pkt, function_id, syn_rate, now);
        default:
            return pass(DFAAS_R_PASS_NO_POLICY);
    }
}

/* A user packet of a tracked connection follows the connection's path. `key` is the key `ct` was
 * found under, in the half-open table when `half_open`. */
DFAAS_INLINE int follow_user_connection(struct __sk_buff *skb, const struct dfaas_pkt *pkt,
                                        struct dfaas_ct_entry *ct, const struct dfaas_ct_key *key,
                                        int half_open, __u64 now) {
    int http = http_client_segment(skb, pkt, ct);
    struct dfaas_macs macs;

    ct_touch(ct, now);
    ct_client_packet(ct, pkt);
    if (unlikely(half_open)) ct = ct_confirm(key, ct, pkt);
    if (http) count_reason(DFAAS_R_HTTP_REQUEST);
    switch (ct->path) {
        case DFAAS_PATH_LOCAL:
            count_path(ct->function_id, DFAAS_STAT_LOCAL, pkt->ip_len, 0, http);
            return dfaas_dnat(skb, pkt, ct->gateway_port);
        case DFAAS_PATH_FORWARD:
            count_path(ct->function_id, stat_peer_path(ct->peer_index), pkt->ip_len, 0, http);
            if (!(ct->flags & DFAAS_CT_F_PEER_MACS))
                return dfaas_forward_to_peer(skb, pkt, ct->peer_addr, 0);
            macs = ct->peer_macs; /* to the stack: a global function takes no map value */
            return dfaas_forward_to_peer(skb, pkt, ct->peer_addr, &macs);
        case DFAAS_PATH_REJECT:
            return drop(DFAAS_R_DROP_REJECT);
        default:
            return pass(DFAAS_R_PASS_CT_MISS_MIDFLOW);
    }
}

/* A user packet to one of this node's function ports that the established fast path in
 * handle_ingress did not take: SYNs, handshakes, misses. `established_missed`: that path
 * already looked the established table up and found nothing. */
DFAAS_SUBPROG int dfaas_user_packet(struct __sk_buff *skb, struct dfaas_pkt *pkt, __u32 function_id,
                                    __u32 established_missed) {
    struct dfaas_ct_entry *ct = 0;
    struct dfaas_ct_key key;
    int half_open = 0;

    if (!skb || !pkt) return TC_ACT_OK;
    ct_key_client(&key, pkt);
    if (!established_missed) ct = ct_lookup(&key);
    if (!ct) {
        ct = ct_lookup_half_open(&key); /* handshakes, SYN retransmissions */
        half_open = ct != 0;
    }
    if (is_syn(pkt)) {
        /* Katran's rule: a SYN selects, unless it retransmits a connection we track. */
        if (!ct || ct_is_finished(ct) || ct_syn_restarts(ct, pkt, half_open)) {
            /* The tuple's last connection is over, or its handshake was given up (a client
             * reusing its port): its entry and its gateway-side index entry go now. */
            if (ct) ct_delete(&key, ct, half_open);
            return dfaas_new_user_connection(skb, pkt, function_id);
        }
        count_reason(DFAAS_R_SYN_RETRANSMIT);
    } else if (!ct) {
        /* Never guess a path mid-flow: the stack answers (usually with an RST). */
        return pass(DFAAS_R_PASS_CT_MISS_MIDFLOW);
    }
    return follow_user_connection(skb, pkt, ct, &key, half_open, dfaas_now());
}

/* Results of dfaas_established_user_packet that are not a verdict (TC_ACT_* are >= -1). */
#define DFAAS_ESTABLISHED_MISS (-2) /* no established entry under the client's tuple */
#define DFAAS_NOT_ESTABLISHED (-3)  /* an entry, but for the slow path (a SYN) */

/* The hot path: a user packet of an established connection, found with one lookup of the
 * client's tuple before the services map (lib/ct.h). Out of line so its frame (key, next hops,
 * the HTTP check) stays off the deepest call chain of the SYN path. */
DFAAS_SUBPROG int dfaas_established_user_packet(struct __sk_buff *skb, struct dfaas_pkt *pkt) {
    struct dfaas_ct_entry *ct;
    struct dfaas_ct_key key;

    if (!skb || !pkt) return TC_ACT_OK;
    ct_key_client(&key, pkt);
    ct = ct_lookup(&key);
    if (!ct) return DFAAS_ESTABLISHED_MISS;
    if (is_syn(pkt) || ct->path == DFAAS_PATH_FORWARDED_IN) return DFAAS_NOT_ESTABLISHED;
    if (pkt->ip_hlen > 20) count_reason(DFAAS_R_IP_OPTIONS);
    return follow_user_connection(skb, pkt, ct, &key, 0, dfaas_now());
}

/* Reply of a connection this node forwarded: decapsulate and send to the client. `in_table`: the
 * sender is still in the peer table (else its slot may hold another peer now, whose counters
 * this reply must not touch). */
DFAAS_SUBPROG int dfaas_forward_reply(struct __sk_buff *skb, struct dfaas_pkt *pkt,
                                      __u32 in_table) {
    struct dfaas_config *cfg = load_config();
    struct dfaas_peer_stats *ps;
    struct dfaas_ct_key key;
    struct dfaas_ct_entry *ct;

    if (!skb || !pkt || !cfg) return TC_ACT_OK;
    /* The reply runs service -> client: the connection's key is the reverse tuple. */
    ct_key_init(&key, pkt->daddr, pkt->saddr, pkt->dport, pkt->sport);
    ct = ct_lookup(&key);
    if (unlikely(!ct)) ct = ct_lookup_half_open(&key); /* the SYN-ACK, an early RST */
    if (!ct || ct->path != DFAAS_PATH_FORWARD || ct->peer_addr != pkt->outer_saddr)
        return pass(DFAAS_R_PASS_CT_MISS_MIDFLOW);
    ct_touch(ct, dfaas_now());
    if (ct->state == DFAAS_TCP_SYN_SENT && in_table) {
        ps = peer_stats(ct->peer_index);
        if (ps && is_synack(pkt)) ps->synack_returned += 1;
        if (ps && (pkt->tcp_flags & TCP_FLAG_RST)) ps->rst_returned += 1;
    }
    if (is_synack(pkt) && clamp_mss(skb, pkt, cfg->mtu - MSS_HEADROOM) > 0)
        count_reason(DFAAS_R_MSS_CLAMPED);
    /* Without a FIB answer at the SYN, the peer's reply tells where it is. */
    if (!(ct->flags & DFAAS_CT_F_PEER_MACS) && reply_macs(skb, &ct->peer_macs))
        ct->flags |= DFAAS_CT_F_PEER_MACS;
    ct_server_packet(ct, pkt);
    /* Before the decapsulation: the payload offset counts the outer header. A sender no longer in
     * the table: its route's rows may belong to another peer now. */
    if (in_table) {
        http_server_segment(skb, pkt, ct);
        count_path(ct->function_id, stat_peer_path(ct->peer_index), pkt->ip_len, 0, 0);
    }
    if (decap_ipip(skb, pkt->outer_hlen)) return drop(DFAAS_R_DROP_DECAP);
    count_reason(DFAAS_R_DECAP_IN);
    if (ct->flags & DFAAS_CT_F_CLIENT_MACS) return send_with_macs(skb, &ct->client_macs, 0);
    return send_towards(skb, pkt->daddr, 0);
}

/* Decapsulates a forwarded-in packet and DNATs it to the local gateway (`gateway_port`: the
 * client port the gateway sees). */
DFAAS_INLINE int deliver_forwarded_in(struct __sk_buff *skb, struct dfaas_pkt *pkt,
                                      __u16 gateway_port) {
    __u32 outer = pkt->outer_hlen;

    if (decap_ipip(skb, outer)) return drop(DFAAS_R_DROP_DECAP);
    count_reason(DFAAS_R_DECAP_IN);
    pkt->l3_off -= outer;
    pkt->l4_off -= outer;
    pkt->outer_hlen = 0;
    return dfaas_dnat(skb, pkt, gateway_port);
}

/* Refuses a forwarded-in SYN: an RST back through the forwarder, or a drop. */
DFAAS_INLINE int refuse_forwarded_in(struct __sk_buff *skb, const struct dfaas_config *cfg,
                                     struct dfaas_pkt *pkt, __u32 function_id, __u32 peer_index) {
    count_reason(DFAAS_R_SYN_NEW);
    count_path(function_id, DFAAS_STAT_FORWARDED_IN_REJECT, pkt->ip_len, 1, 0);
    count_fwd_in(function_id, peer_index, 0);
    event_forward_in(
        pkt, function_id, peer_index, DFAAS_ACTION_REJECT,
        cfg->reject_mode == DFAAS_REJECT_DROP ? DFAAS_R_DROP_REJECT : DFAAS_R_RST_SENT);
    if (cfg->reject_mode == DFAAS_REJECT_DROP) return drop(DFAAS_R_DROP_REJECT);
    return dfaas_send_rst(skb, pkt);
}

/* A SYN a peer forwarded: admit under the (function, peer) cap, serve locally, never forward. */
DFAAS_SUBPROG int dfaas_new_forwarded_in(struct __sk_buff *skb, struct dfaas_pkt *pkt,
                                         __u32 function_id, __u32 peer_index) {
    struct dfaas_config *cfg = load_config();
    __u64 now = dfaas_now();
    struct dfaas_ct_scratch *new = ct_scratch();
    struct dfaas_choice choice = {};
    struct dfaas_rate *window;
    __u32 gateway_port;
    __u8 charge = 0;
    __u32 idx;

    if (!skb || !pkt || !cfg) return TC_ACT_OK;
    if (!new) return drop(DFAAS_R_DROP_CT_INSERT);
    function_id &= DFAAS_MAX_FUNCTIONS - 1;
    peer_index &= DFAAS_MAX_PEERS - 1;
    if (read_policy(function_id, 0, peer_index, &choice) || !choice.installed)
        choice.limit_in = DFAAS_UNLIMITED;
    /* No limit named for this peer: the node's default applies, so a peer (or whoever spoofs
     * one) cannot push unlimited work here; DFAAS_UNLIMITED as default turns this off. */
    if (choice.limit_in == DFAAS_UNLIMITED && cfg->default_limit_in != DFAAS_UNLIMITED) {
        choice.limit_in = cfg->default_limit_in;
        count_reason(DFAAS_R_FWD_IN_DEFAULT_LIMIT);
    }
    /* Checked here, charged when the handshake completes (lib/ct.h): SYNs that never complete
     * (a spoofer of the peer's address) spend neither the limit nor the local cap. */
    if (choice.limit_in != DFAAS_UNLIMITED) {
        idx = function_id * DFAAS_MAX_PEERS + peer_index;
        window = bpf_map_lookup_elem(&dfaas_rate_fwd_in, &idx);
        if (window) {
            if (!rate_below(window, choice.limit_in, now))
                return refuse_forwarded_in(skb, cfg, pkt, function_id, peer_index);
            charge |= DFAAS_CT_F_CHARGE_FWD_IN;
        }
    }
    /* Forwarded-in work uses local capacity: it counts towards the local cap. */
    if (choice.local_cap && local_rate(function_id)) charge |= DFAAS_CT_F_CHARGE_LOCAL;
    /* Its gateway-side tuple, remapped when a live connection holds it (lib/ct.h); none free:
     * refused (counted nat_ports_exhausted). */
    gateway_port = dfaas_ct_claim_gateway_port(pkt, cfg->hash_seed);
    if (!gateway_port) return refuse_forwarded_in(skb, cfg, pkt, function_id, peer_index);
    ct_key_client(&new->key, pkt);
    ct_entry_init(&new->entry, DFAAS_PATH_FORWARDED_IN, function_id, pkt->outer_saddr, peer_index,
                  pkt, now);
    new->entry.flags |= charge;
    new->entry.gateway_port = (__u16)gateway_port;
    /* Replies go back to the forwarder the way its packet came. */
    if (reply_macs(skb, &new->entry.peer_macs)) new->entry.flags |= DFAAS_CT_F_PEER_MACS;
    if (ct_insert_half_open(&new->key, &new->entry)) return drop(DFAAS_R_DROP_CT_INSERT);
    count_reason(DFAAS_R_SYN_NEW);
    count_path(function_id, DFAAS_STAT_FORWARDED_IN, pkt->ip_len, 1, 0);
    count_fwd_in(function_id, peer_index, 1);
    event_forward_in(pkt, function_id, peer_index, DFAAS_ACTION_LOCAL, DFAAS_R_SYN_NEW);
    return deliver_forwarded_in(skb, pkt, (__u16)gateway_port);
}

/* Whether this node serves the function (has a function port of its own for it): a peer may
 * forward only such connections here. */
DFAAS_INLINE int served_locally(__u32 function_id) {
    struct dfaas_function *fn = bpf_map_lookup_elem(&dfaas_functions, &function_id);
    return fn && fn->in_use && (fn->flags & DFAAS_FN_F_SERVED_LOCALLY);
}

DFAAS_INLINE int handle_forwarded_in(struct __sk_buff *skb, struct dfaas_pkt *pkt,
                                     __u32 peer_index) {
    struct dfaas_service_key skey = {.addr = pkt->daddr, .port = pkt->dport};
    struct dfaas_service *svc;
    struct dfaas_ct_key key;
    struct dfaas_ct_entry *ct;
    int half_open = 0;
    int http;

    /* One lookup for an established forwarded-in packet: the inner tuple. The checks below
     * (sender's own function port, served here) were made at its SYN, and its key holds the
     * inner destination, which must be the sender's address. */
    ct_key_client(&key, pkt);
    ct = ct_lookup(&key);
    if (!ct || is_syn(pkt) || ct->path != DFAAS_PATH_FORWARDED_IN ||
        pkt->daddr != pkt->outer_saddr) {
        svc = bpf_map_lookup_elem(&dfaas_services, &skey);
        if (!svc) return drop(DFAAS_R_DROP_FWD_IN_NO_SERVICE);
        /* A peer forwards the connections its own users made to its own function ports: the
         * inner destination is the sender's address. Anything else would let one peer (or a
         * spoofer of one) steer traffic in the name of another node or into a local port. */
        if (pkt->daddr != pkt->outer_saddr || (svc->flags & DFAAS_SVC_F_LOCAL))
            return drop(DFAAS_R_DROP_IPIP_FOREIGN_SERVICE);
        if (!ct) {
            ct = ct_lookup_half_open(&key);
            half_open = ct != 0;
        }
        if (is_syn(pkt) && (!ct || ct_is_finished(ct) || ct_syn_restarts(ct, pkt, half_open))) {
            if (!served_locally(svc->function_id)) return drop(DFAAS_R_DROP_FWD_IN_NO_SERVICE);
            if (ct) ct_delete(&key, ct, half_open);
            return dfaas_new_forwarded_in(skb, pkt, svc->function_id, peer_index);
        }
        if (!ct || ct->path != DFAAS_PATH_FORWARDED_IN) return pass(DFAAS_R_PASS_CT_MISS_MIDFLOW);
        if (is_syn(pkt)) count_reason(DFAAS_R_SYN_RETRANSMIT);
    }
    ct_touch(ct, dfaas_now());
    ct_client_packet(ct, pkt);
    http = http_client_segment(skb, pkt, ct);
    if (unlikely(half_open)) ct = ct_confirm(&key, ct, pkt);
    if (http) count_reason(DFAAS_R_HTTP_REQUEST);
    count_path(ct->function_id, DFAAS_STAT_FORWARDED_IN, pkt->ip_len, 0, http);
    return deliver_forwarded_in(skb, pkt, ct->gateway_port);
}

/* Whether a stranger's IP-in-IP packet is dressed as data-plane traffic: its inner packet goes
 * to a function port (ours or a peer's), or comes from this node's address (a forwarded
 * connection's reply). */
DFAAS_INLINE int ipip_looks_like_ours(const struct dfaas_config *cfg, const struct dfaas_pkt *pkt) {
    struct dfaas_service_key skey = {.addr = pkt->daddr, .port = pkt->dport};

    if (pkt->saddr == cfg->node_addr || pkt->daddr == cfg->node_addr) return 1;
    return bpf_map_lookup_elem(&dfaas_services, &skey) != 0;
}

/* Whether an IP-in-IP packet is the reply of a connection this node forwarded to its sender. */
DFAAS_INLINE int forwarded_to_sender(const struct dfaas_pkt *pkt) {
    struct dfaas_ct_entry *ct;
    struct dfaas_ct_key key;

    ct_key_init(&key, pkt->daddr, pkt->saddr, pkt->dport, pkt->sport);
    ct = ct_lookup(&key);
    if (!ct) ct = ct_lookup_half_open(&key);
    return ct && ct->path == DFAAS_PATH_FORWARD && ct->peer_addr == pkt->outer_saddr;
}

/*
 * IP-in-IP is accepted only from peers in the table (written from authenticated membership),
 * sent to this node's address, and (handle_forwarded_in) for a function port of the sender that
 * this node serves too; from a former peer, only replies of the connections forwarded to it. A
 * stranger's tunnel packet that is not dressed as ours passes: other tunnels (a CNI's IP-in-IP) are
 * not this program's to judge.
 */
DFAAS_SUBPROG int dfaas_ipip_packet(struct __sk_buff *skb, struct dfaas_pkt *pkt) {
    struct dfaas_config *cfg = load_config();
    struct dfaas_peer *peer;

    if (!skb || !pkt || !cfg) return TC_ACT_OK;
    peer = bpf_map_lookup_elem(&dfaas_peers, &pkt->outer_saddr);
    if (!peer) {
        /* A reply of a connection this node forwarded to a node that has left the peer table
         * since (its agent died: its data plane still serves what it was given): the connection
         * carries on. Only a tracked connection forwarded to that very address qualifies. */
        if (pkt->saddr == cfg->node_addr && pkt->outer_daddr == cfg->node_addr &&
            forwarded_to_sender(pkt))
            return dfaas_forward_reply(skb, pkt, 0);
        if (ipip_looks_like_ours(cfg, pkt)) return drop(DFAAS_R_DROP_IPIP_NOT_PEER);
        return pass(DFAAS_R_PASS_IPIP_UNKNOWN_PEER);
    }
    if (pkt->outer_daddr != cfg->node_addr) return drop(DFAAS_R_DROP_IPIP_NOT_FOR_NODE);
    if (pkt->saddr == cfg->node_addr) return dfaas_forward_reply(skb, pkt, 1);
    return handle_forwarded_in(skb, pkt, peer->index);
}

DFAAS_INLINE int handle_ingress(struct __sk_buff *skb) {
    struct dfaas_config *cfg = load_config();
    struct dfaas_service_key skey = {};
    struct dfaas_service *svc;
    struct dfaas_pkt pkt = {};
    __u32 established_missed = 0;
    int verdict;

    count_reason(DFAAS_R_PKT_INGRESS);
    if (!cfg || !(cfg->flags & DFAAS_CFG_F_ENABLED)) return TC_ACT_OK;
    switch (parse_packet(skb, &pkt)) {
        case PARSE_TCP:
            break;
        case PARSE_IPIP:
            return dfaas_ipip_packet(skb, &pkt);
        case PARSE_NOT_IPV4:
            return pass(DFAAS_R_PASS_NOT_IPV4);
        case PARSE_NOT_TCP:
            return pass(DFAAS_R_PASS_NOT_TCP);
        case PARSE_FRAGMENT:
            return pass(DFAAS_R_PASS_FRAGMENT);
        default:
            /* Not ours to judge: the stack drops what is really broken. */
            return pass(DFAAS_R_PASS_MALFORMED);
    }
    /* Established user connections: one conntrack lookup, before the services map, on ports
     * with tracked connections only (lib/ct.h). SYNs take the path below (retransmission or a
     * reused tuple). */
    if (ct_port_tracked(pkt.dport)) {
        verdict = dfaas_established_user_packet(skb, &pkt);
        if (verdict != DFAAS_NOT_ESTABLISHED && verdict != DFAAS_ESTABLISHED_MISS) return verdict;
        established_missed = verdict == DFAAS_ESTABLISHED_MISS;
    }
    skey.addr = pkt.daddr;
    skey.port = pkt.dport;
    svc = bpf_map_lookup_elem(&dfaas_services, &skey);
    if (!svc || !(svc->flags & DFAAS_SVC_F_LOCAL)) return pass(DFAAS_R_PASS_NO_SERVICE);
    if (pkt.ip_hlen > 20) count_reason(DFAAS_R_IP_OPTIONS);
    return dfaas_user_packet(skb, &pkt, svc->function_id, established_missed);
}

#endif
