// Canonical names of the configuration enumerations (the first name of each value in its table).
#include "value_parsers.h"

namespace dfaas {
namespace {

template <class E>
std::string_view canonical_name(const config_detail::EnumNames<E> &names, E value) {
    for (const auto &[name, candidate] : names)
        if (candidate == value) return name;
    return "?";
}

}  // namespace

std::string_view to_string(NodeType value) {
    return canonical_name(config_detail::node_type_names(), value);
}
std::string_view to_string(RejectMode value) {
    return canonical_name(config_detail::reject_mode_names(), value);
}
std::string_view to_string(ForwardMode value) {
    return canonical_name(config_detail::forward_mode_names(), value);
}
std::string_view to_string(StrategyKind value) {
    return canonical_name(config_detail::strategy_names(), value);
}
std::string_view to_string(ForecasterMode value) {
    return canonical_name(config_detail::forecaster_mode_names(), value);
}
std::string_view to_string(RecalcOverflow value) {
    return canonical_name(config_detail::recalc_overflow_names(), value);
}
std::string_view to_string(ForecasterVariant value) {
    return canonical_name(config_detail::forecaster_variant_names(), value);
}
std::string_view to_string(LogLevel value) {
    return canonical_name(config_detail::log_level_names(), value);
}

}  // namespace dfaas
