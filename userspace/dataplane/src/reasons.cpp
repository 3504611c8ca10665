#include <array>
#include <string_view>

#include "dfaas/abi.h"
#include "dfaas/dataplane/dataplane.h"

namespace dfaas::dp {

namespace {

struct ReasonEntry {
    uint32_t value;
    const char *name;
};

// Generated from the same list as enum dfaas_reason (bpf/include/dfaas/abi.h): a reason cannot
// exist without a name.
constexpr ReasonEntry kReasons[] = {
#define DFAAS_REASON_ENTRY(id, value, name) {value, name},
    DFAAS_REASONS(DFAAS_REASON_ENTRY)
#undef DFAAS_REASON_ENTRY
};

// The names index the counters by position, so the values must run 0, 1, 2, ... with no gap and
// no repeat: then every value below DFAAS_R__COUNT has exactly one name (retired values keep
// their line as "unused_<value>").
constexpr bool values_are_contiguous() {
    for (uint32_t i = 0; i < std::size(kReasons); ++i)
        if (kReasons[i].value != i) return false;
    return true;
}
static_assert(values_are_contiguous(),
              "DFAAS_REASONS values must be 0, 1, 2, ... in list order (never renumber, append)");
static_assert(std::size(kReasons) == DFAAS_R__COUNT);

constexpr bool names_are_valid() {
    for (const auto &r : kReasons) {
        std::string_view name = r.name;
        if (name.empty()) return false;
        for (char c : name)
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    }
    for (uint32_t i = 0; i < std::size(kReasons); ++i)
        for (uint32_t j = i + 1; j < std::size(kReasons); ++j)
            if (std::string_view(kReasons[i].name) == kReasons[j].name) return false;
    return true;
}
// Names are metric label values: lower-case snake_case and unique.
static_assert(names_are_valid(), "reason names must be unique, non-empty [a-z0-9_]");

}  // namespace

const std::vector<std::string> &reason_names() {
    // Index = enum dfaas_reason. Names are the metric label values and what `dfaasctl dp stats`
    // prints.
    static const std::vector<std::string> names = [] {
        std::vector<std::string> list;
        list.reserve(std::size(kReasons));
        for (const auto &r : kReasons)
            list.emplace_back(r.name);
        return list;
    }();
    return names;
}

}  // namespace dfaas::dp
