#include "dfaas/strategy/strategies.h"
#include "policy_helpers.h"

namespace dfaas::strategy {

Decision AllLocalStrategy::step(const Snapshot &snapshot, size_t index, const Decision *) const {
    detail::require_single_step(index, to_string(kind()));
    validate(snapshot);
    Decision decision;
    decision.policies = detail::all_local_policies(local_function_names(snapshot));
    return decision;
}

}  // namespace dfaas::strategy
