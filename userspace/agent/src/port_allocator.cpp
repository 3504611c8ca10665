#include "port_allocator.h"

#include <algorithm>
#include <stdexcept>

namespace dfaas::agent {

PortAllocator::PortAllocator(uint16_t first, uint16_t last, std::set<uint16_t> reserved)
    : first_(first), last_(last), reserved_(std::move(reserved)) {
    if (first_ == 0 || last_ < first_) throw std::invalid_argument("invalid function port range");
}

uint16_t PortAllocator::home_port(const std::string &function) const {
    uint32_t hash = 2166136261u;
    for (unsigned char c : function) {
        hash ^= c;
        hash *= 16777619u;
    }
    uint32_t size = uint32_t(last_) - first_ + 1;
    return static_cast<uint16_t>(first_ + hash % size);
}

PortAssignment PortAllocator::assign(const std::vector<PortRequest> &requests,
                                     const std::map<std::string, uint16_t> &current) const {
    PortAssignment out;
    std::map<uint16_t, std::string> taken;
    std::vector<const PortRequest *> sorted;
    for (const auto &r : requests)
        sorted.push_back(&r);
    std::sort(sorted.begin(), sorted.end(),
              [](const auto *a, const auto *b) { return a->function < b->function; });

    auto take = [&](const std::string &fn, uint16_t port) {
        taken[port] = fn;
        out.ports[fn] = port;
    };
    // 1. Pinned ports (the operator said so). A port pinned twice goes to the first name.
    for (const auto *r : sorted) {
        if (!r->pinned) continue;
        if (reserved_.count(*r->pinned)) {
            out.problems.push_back(r->function + ": dfaas.port " + std::to_string(*r->pinned) +
                                   " is reserved (gateway, API or peer port)");
        } else if (taken.count(*r->pinned)) {
            out.problems.push_back(r->function + ": dfaas.port " + std::to_string(*r->pinned) +
                                   " is already pinned by " + taken[*r->pinned]);
        } else {
            take(r->function, *r->pinned);
        }
    }
    // 2. Ports functions already have.
    for (const auto *r : sorted) {
        if (out.ports.count(r->function) || r->pinned) continue;
        auto it = current.find(r->function);
        if (it != current.end() && !taken.count(it->second) && !reserved_.count(it->second))
            take(r->function, it->second);
    }
    // 3. New functions: their home slot, probing upwards (wrapping) to the first free port.
    uint32_t size = uint32_t(last_) - first_ + 1;
    for (const auto *r : sorted) {
        if (out.ports.count(r->function) || r->pinned) continue;
        uint16_t home = home_port(r->function);
        bool placed = false;
        for (uint32_t i = 0; i < size && !placed; ++i) {
            uint16_t port = static_cast<uint16_t>(first_ + (home - first_ + i) % size);
            if (taken.count(port) || reserved_.count(port)) continue;
            take(r->function, port);
            placed = true;
        }
        if (!placed)
            out.problems.push_back(r->function + ": no free port left in " +
                                   std::to_string(first_) + "-" + std::to_string(last_));
    }
    return out;
}

}  // namespace dfaas::agent
