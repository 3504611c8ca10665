#include <array>

#include "dfaas/abi.h"
#include "dfaas/dataplane/dataplane.h"

namespace dfaas::dp {

const std::vector<std::string> &reason_names() {
    // Same order as enum dfaas_reason (bpf/include/dfaas/abi.h). Names are the metric label
    // values and what `dfaasctl dp stats` prints.
    static const std::array<const char *, DFAAS_R__COUNT> kNames = {
        "pkt_ingress",
        "pkt_egress",
        "pass_not_ipv4",
        "pass_not_tcp",
        "pass_fragment",
        "pass_no_service",
        "pass_no_policy",
        "pass_ct_miss_midflow",
        "pass_ipip_unknown_peer",
        "pass_egress_no_ct",
        "pass_malformed",
        "drop_ct_insert",
        "drop_encap",
        "drop_decap",
        "drop_fib",
        "drop_mtu",
        "drop_reject",
        "drop_nat",
        "drop_fwd_in_no_service",
        "drop_peer_gone",
        "rst_sent",
        "rst_failed",
        "syn_new",
        "syn_retransmit",
        "syn_guard",
        "local_cap_overflow",
        "mss_clamped",
        "encap_out",
        "decap_in",
        "fib_neigh_fallback",
        "http_request",
        "ct_collision",
        "ip_options",
        "drop_ipip_not_peer",
        "drop_ipip_not_for_node",
        "drop_ipip_foreign_service",
        "ct_promoted",
        "ct_promote_failed",
        "ct_ack_unconfirmed",
        "ct_out_of_window",
        "fwd_in_default_limit",
    };
    static const std::vector<std::string> names(kNames.begin(), kNames.end());
    return names;
}

}  // namespace dfaas::dp
