// The forecaster interface Node Margin uses: predicted node usage for a load per function group.
// Implementations live in userspace/forecast (native LightGBM evaluator, HTTP client).
#pragma once

#include "dfaas/strategy/error.h"
#include "dfaas/strategy/types.h"

namespace dfaas::strategy {

// cpu in percent (100 = one core), ram in bytes, power in micro-watts.
struct Prediction {
    double cpu = 0.0;
    double ram = 0.0;
    double power = 0.0;

    bool operator==(const Prediction &) const = default;
};

// Thrown by forecasters when they cannot predict (unreachable service, malformed model, ...).
class ForecastError : public Error {
  public:
    using Error::Error;
};

class Forecaster {
  public:
    virtual ~Forecaster() = default;
    // Throws ForecastError when no prediction can be made.
    virtual Prediction predict(const GroupLoad &load, NodeType type) const = 0;
};

}  // namespace dfaas::strategy
