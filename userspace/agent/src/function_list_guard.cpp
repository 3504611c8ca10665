#include "function_list_guard.h"

namespace dfaas::agent {

bool EmptyFunctionListGuard::accept(bool list_empty, bool node_has_functions, Time now) {
    if (!list_empty || !node_has_functions) {
        empty_since_.reset();
        return true;
    }
    if (!empty_since_) empty_since_ = now;
    // A clock stepped backwards restarts the wait rather than applying at once.
    if (now < *empty_since_) empty_since_ = now;
    return now - *empty_since_ >= hold_;
}

}  // namespace dfaas::agent
