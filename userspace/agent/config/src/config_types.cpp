// Canonical names of the configuration's own enumerations (the first name of each value in its
// table); the shared ones are named in dfaas/domain.h.
#include "value_parsers.h"

namespace dfaas {
std::string_view to_string(ForwardMode value) {
    return canonical_name(config_detail::forward_mode_names(), value);
}
std::string_view to_string(ForecasterMode value) {
    return canonical_name(config_detail::forecaster_mode_names(), value);
}
std::string_view to_string(RecalcOverflow value) {
    return canonical_name(config_detail::recalc_overflow_names(), value);
}

}  // namespace dfaas
