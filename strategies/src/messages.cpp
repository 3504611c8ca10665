#include "dfaas/strategy/messages.h"

#include <cmath>

#include "dfaas/strategy/error.h"

namespace dfaas::strategy {

namespace {

void require_non_negative(double value, std::string_view type, const std::string &what) {
    if (!std::isfinite(value) || value < 0.0)
        throw Error(std::string(type) + ": " + what + " must be a finite number >= 0, got " +
                    std::to_string(value));
}

void require_positive(double value, std::string_view type, const std::string &what) {
    if (!std::isfinite(value) || value <= 0.0)
        throw Error(std::string(type) + ": " + what + " must be a finite number > 0, got " +
                    std::to_string(value));
}

void require_names(const std::vector<std::string> &functions, std::string_view type) {
    for (const auto &name : functions)
        if (name.empty()) throw Error(std::string(type) + ": empty function name");
}

}  // namespace

std::string_view message_type(const PeerMessage &message) {
    struct Namer {
        std::string_view operator()(const RecalcLimits &) const { return "recalc_limits"; }
        std::string_view operator()(const NmsNodeInfo &) const { return "nms_node_info"; }
        std::string_view operator()(const NmsMargin &) const { return "nms_margin"; }
        std::string_view operator()(const StaticInfo &) const { return "static_info"; }
    };
    return std::visit(Namer{}, message);
}

void validate(const PeerMessage &message) {
    const std::string_view type = message_type(message);
    if (const auto *limits = std::get_if<RecalcLimits>(&message)) {
        for (const auto &[function, limit] : limits->limits) {
            if (function.empty()) throw Error(std::string(type) + ": empty function name");
            require_non_negative(limit, type, "limit of '" + function + "'");
        }
    } else if (const auto *info = std::get_if<NmsNodeInfo>(&message)) {
        require_positive(info->thresholds.cpu, type, "cpu threshold");
        require_positive(info->thresholds.ram, type, "ram threshold");
        require_positive(info->thresholds.power, type, "power threshold");
        require_names(info->functions, type);
    } else if (const auto *margin = std::get_if<NmsMargin>(&message)) {
        require_non_negative(margin->margin, type, "margin");
        for (Group group : {Group::High, Group::Low, Group::Medium})
            require_non_negative(margin->load[group], type,
                                 "load of " + std::string(to_string(group)));
    } else if (const auto *info_static = std::get_if<StaticInfo>(&message)) {
        require_names(info_static->functions, type);
    }
}

}  // namespace dfaas::strategy
