// The one error type of the strategy library.
//
// Convention (the whole library and its JSON forms follow it): a function that cannot do its job
// throws dfaas::strategy::Error (or a subclass) whose message names the offending input, e.g.
// "snapshot: user rate of 'figlet' is NaN". A function that throws changes nothing: a peer table
// keeps its previous content, a strategy produces no partial decision.
#pragma once

#include <stdexcept>

namespace dfaas::strategy {

class Error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

}  // namespace dfaas::strategy
