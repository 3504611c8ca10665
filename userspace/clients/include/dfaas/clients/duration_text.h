// Duration <-> text in the notation of the config file and of PromQL range selectors:
// "500ms", "20s", "1m", "2h". Shared so messages, dumps and queries spell durations alike.
#pragma once

#include <chrono>
#include <string>

namespace dfaas {

// The largest unit that represents the value exactly: 90000ms -> "90s", 3600000ms -> "1h",
// 1500ms -> "1500ms", 0 -> "0s". Negative values get a leading '-'.
std::string format_duration(std::chrono::milliseconds duration);

}  // namespace dfaas
