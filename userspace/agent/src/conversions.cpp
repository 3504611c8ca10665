#include "conversions.h"

namespace dfaas::agent {

dp::Settings dataplane_settings(const Config &cfg) {
    dp::Settings s;
    s.node = cfg.node.ip;
    s.gateway = cfg.dataplane.gateway;
    if (s.gateway.addr.is_unspecified()) s.gateway = Endpoint{cfg.node.ip, 8080};
    s.reject_mode = cfg.dataplane.reject_mode;
    s.mtu = static_cast<uint16_t>(cfg.dataplane.mtu);
    s.syn_guard_rate = cfg.dataplane.syn_guard_rate;
    s.ct_timeout_syn = cfg.dataplane.ct_timeouts.syn;
    s.ct_timeout_established = cfg.dataplane.ct_timeouts.established;
    s.ct_timeout_closing = cfg.dataplane.ct_timeouts.closing;
    s.default_limit_in = cfg.dataplane.default_limit_in;
    s.http_stats = cfg.dataplane.http_stats;
    return s;
}

strategy::GroupTable to_group_table(const StrategyConfig &strategy) {
    if (strategy.group_file.empty()) return strategy::reference_group_table();
    strategy::GroupTable table;
    for (const auto &[function, group] : strategy.groups)
        table[function] = group;  // one FunctionGroup type on both sides
    return table;
}

}  // namespace dfaas::agent
