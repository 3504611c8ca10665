/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TC egress: replies of connections served by the local gateway. The gateway answers from its
 * own address:port; the REPLY conntrack entry says which function port the client called (restore
 * the source) and, for a forwarded-in connection, which node forwarded it (encapsulate back).
 * Everything else leaves untouched after two compares, so the egress cost of unrelated traffic
 * is a map lookup of the config and a header parse.
 */
#ifndef DFAAS_BPF_EGRESS_H
#define DFAAS_BPF_EGRESS_H

#include "lib/ingress.h"

/* Records server-side TCP flags in the connection's ORIGINAL entry, where the state lives. */
DFAAS_INLINE void egress_update_state(const struct dfaas_pkt *pkt,
                                      const struct dfaas_ct_entry *reply) {
    struct dfaas_ct_key key;
    struct dfaas_ct_entry *orig;

    ct_key_init(&key, pkt->daddr, reply->nat_addr, pkt->dport, reply->nat_port,
                DFAAS_CT_ORIGINAL);
    orig = ct_lookup(&key);
    if (orig)
        ct_server_packet(orig, pkt->tcp_flags);
    else
        count_reason(DFAAS_R_CT_PAIR_MISS);
}

DFAAS_INLINE int handle_egress(struct __sk_buff *skb) {
    struct dfaas_config *cfg = load_config();
    struct dfaas_pkt pkt = {};
    struct dfaas_ct_key key;
    struct dfaas_ct_entry *reply;

    count_reason(DFAAS_R_PKT_EGRESS);
    if (!cfg || !(cfg->flags & DFAAS_CFG_F_ENABLED)) return TC_ACT_OK;
    if (parse_packet(skb, &pkt) != PARSE_TCP) return TC_ACT_OK;
    if (pkt.saddr != cfg->gateway_addr || pkt.sport != cfg->gateway_port) return TC_ACT_OK;

    ct_key_init(&key, pkt.daddr, pkt.saddr, pkt.dport, pkt.sport, DFAAS_CT_REPLY);
    reply = ct_lookup(&key);
    if (!reply) return pass(DFAAS_R_PASS_EGRESS_NO_CT);
    ct_touch(reply, bpf_ktime_get_ns());
    if (pkt.tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_FIN | TCP_FLAG_RST))
        egress_update_state(&pkt, reply);

    if (rewrite_addr(skb, pkt.l3_off, pkt.l4_off, IP_SADDR_OFF, pkt.saddr, reply->nat_addr) ||
        rewrite_port(skb, pkt.l4_off, TCP_SPORT_OFF, pkt.sport, reply->nat_port))
        return drop(DFAAS_R_DROP_NAT);

    if (reply->path == DFAAS_PATH_FORWARDED_IN) {
        count_path(reply->function_id, DFAAS_STAT_FORWARDED_IN, pkt.ip_len, 0, 0);
        if (encap_ipip(skb, cfg->node_addr, reply->peer_addr)) return drop(DFAAS_R_DROP_ENCAP);
        count_reason(DFAAS_R_ENCAP_OUT);
        return send_towards(skb, reply->peer_addr, 1);
    }
    count_path(reply->function_id, DFAAS_STAT_LOCAL, pkt.ip_len, 0, 0);
    return TC_ACT_OK;
}

#endif
