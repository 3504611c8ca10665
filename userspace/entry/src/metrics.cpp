#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <sstream>

#include "dfaas/entry/server.h"

namespace dfaas::entry {

namespace {

prometheus::ClientMetric metric(std::vector<prometheus::ClientMetric::Label> labels, double value,
                                bool counter) {
    prometheus::ClientMetric m;
    m.label = std::move(labels);
    if (counter)
        m.counter.value = value;
    else
        m.gauge.value = value;
    return m;
}

}  // namespace

std::string render_entry_metrics(const EntryCounters &c) {
    using prometheus::MetricFamily;
    using prometheus::MetricType;
    std::vector<MetricFamily> families;
    MetricFamily connections{"dfaas_entry_connections_total",
                             "Connections of the entry port routed, by function and route (local, "
                             "a peer's address, reject, forwarded_in, async).",
                             MetricType::Counter,
                             {}};
    for (const auto &[key, value] : c.connections)
        connections.metric.push_back(
            metric({{"function", key.first}, {"route", key.second}}, double(value), true));
    families.push_back(std::move(connections));
    MetricFamily refused{"dfaas_entry_refused_total",
                         "Connections of the entry port answered with an error or closed, and "
                         "other counted events (forged_forward, drain_timeout), by reason.",
                         MetricType::Counter,
                         {}};
    for (size_t i = 0; i < c.refused.size(); ++i)
        refused.metric.push_back(metric({{"reason", refusal_name(static_cast<Refusal>(i))}},
                                        double(c.refused[i]), true));
    families.push_back(std::move(refused));
    families.push_back(MetricFamily{"dfaas_entry_open_connections",
                                    "Client connections of the entry port open now.",
                                    MetricType::Gauge,
                                    {metric({}, double(c.open_connections), false)}});
    families.push_back(MetricFamily{"dfaas_entry_spliced_total",
                                    "Connections of the entry port handed to the kernel splice.",
                                    MetricType::Counter,
                                    {metric({}, double(c.spliced), true)}});
    families.push_back(MetricFamily{
        "dfaas_entry_splice_skbs_total",
        "Socket buffers the splice verdict handled: redirected to the paired socket, or dropped "
        "because the paired socket had closed (no_peer).",
        MetricType::Counter,
        {metric({{"result", "redirected"}}, double(c.splice_redirected), true),
         metric({{"result", "no_peer"}}, double(c.splice_no_peer), true)}});
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, families);
    return out.str();
}

}  // namespace dfaas::entry
