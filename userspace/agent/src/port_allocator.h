// Function ports: the label dfaas.port pins one; otherwise a port keeps the number it already has
// in the data plane (so restarts and upgrades never move a function), and a new function gets a
// stable slot of the configured range derived from its name.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace dfaas::agent {

struct PortRequest {
    std::string function;
    std::optional<uint16_t> pinned;  // dfaas.port
};

struct PortAssignment {
    std::map<std::string, uint16_t> ports;  // function -> port
    std::vector<std::string> problems;      // functions left without a port, and why
};

class PortAllocator {
  public:
    PortAllocator(uint16_t first, uint16_t last, std::set<uint16_t> reserved = {});

    // Assigns every requested function a port. `current` holds the ports functions have now
    // (the data plane's services); a function keeps its port unless the port is pinned to
    // another function. Pinned ports win; then current ports; then new functions, in name
    // order, at hash(name) within the range, probing upwards. Deterministic.
    PortAssignment assign(const std::vector<PortRequest> &requests,
                          const std::map<std::string, uint16_t> &current) const;

    // The preferred slot of a name (FNV-1a of the name, modulo the range size).
    uint16_t home_port(const std::string &function) const;

  private:
    uint16_t first_, last_;
    std::set<uint16_t> reserved_;  // never handed out: gateway, API and peer ports
};

}  // namespace dfaas::agent
