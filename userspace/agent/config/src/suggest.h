// Internal: "did you mean …?" for misspelt keys and variables; the suggester lives in
// userspace/common (dfaas/suggest.h), shared with dfaasctl.
#pragma once

#include "dfaas/suggest.h"

namespace dfaas::config_detail {

using dfaas::closest_match;
using dfaas::edit_distance;

}  // namespace dfaas::config_detail
