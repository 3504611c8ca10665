/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TC egress: replies of connections served by the local gateway. The gateway answers from its
 * own address:port to the client as it knows it; the gateway-side index (lib/ct.h) names the
 * connection, whose entry says which function address:port the client called (restore the
 * source), the client's own port (restore the destination when it was remapped) and, for a
 * forwarded-in connection, which node forwarded it (encapsulate back). Everything else leaves
 * untouched after two compares.
 */
#ifndef DFAAS_BPF_EGRESS_H
#define DFAAS_BPF_EGRESS_H

#include "lib/ingress.h"

DFAAS_INLINE int handle_egress(struct __sk_buff *skb) {
    struct dfaas_config *cfg = load_config();
    struct dfaas_pkt pkt = {};
    struct dfaas_ct_gw_key gw_key;
    struct dfaas_ct_key *key;
    struct dfaas_ct_entry *ct;

    count_reason(DFAAS_R_PKT_EGRESS);
    if (!cfg || !(cfg->flags & DFAAS_CFG_F_ENABLED)) return TC_ACT_OK;
    if (parse_packet(skb, &pkt) != PARSE_TCP) return TC_ACT_OK;
    if (pkt.saddr != cfg->gateway_addr || pkt.sport != cfg->gateway_port) return TC_ACT_OK;

    ct_gw_key_init(&gw_key, pkt.daddr, pkt.dport);
    key = bpf_map_lookup_elem(&dfaas_ct_gw, &gw_key);
    if (unlikely(!key)) key = bpf_map_lookup_elem(&dfaas_ct_gw_half_open, &gw_key);
    if (!key) return pass(DFAAS_R_PASS_EGRESS_NO_CT);
    ct = ct_index_target(key, pkt.dport); /* NULL: a stale index entry */
    if (!ct) return pass(DFAAS_R_PASS_EGRESS_NO_CT);
    ct_touch(ct, dfaas_now());
    ct_server_packet(ct, &pkt);
    http_server_segment(skb, &pkt, ct); /* before the rewrites: the payload is where parsed */

    if (rewrite_snat(skb, &pkt, ct->service_addr, ct->service_port, key->client_port))
        return drop(DFAAS_R_DROP_NAT);

    if (ct->path == DFAAS_PATH_FORWARDED_IN) {
        count_path(ct->function_id, DFAAS_STAT_FORWARDED_IN, pkt.ip_len, 0, 0);
        if (encap_ipip(skb, cfg->node_addr, ct->peer_addr, 0)) return drop(DFAAS_R_DROP_ENCAP);
        count_reason(DFAAS_R_ENCAP_OUT);
        if (ct->flags & DFAAS_CT_F_PEER_MACS) return send_with_macs(skb, &ct->peer_macs, 1);
        return send_towards(skb, ct->peer_addr, 1);
    }
    count_path(ct->function_id, DFAAS_STAT_LOCAL, pkt.ip_len, 0, 0);
    return TC_ACT_OK;
}

#endif
