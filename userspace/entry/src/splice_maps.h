// The splice program and its two sockhashes (bpf/lib/splice.h), owned by the entry's thread.
#pragma once

#include <cstddef>
#include <cstdint>

struct dfaas_entry;

namespace dfaas::entry {

class SpliceMaps {
  public:
    // Loads the program with both maps sized `entries` and attaches the verdict to the sources
    // map. Throws std::runtime_error naming the step that failed.
    explicit SpliceMaps(uint32_t entries);
    ~SpliceMaps();
    SpliceMaps(const SpliceMaps &) = delete;
    SpliceMaps &operator=(const SpliceMaps &) = delete;

    // `socket_fd`'s bytes will go to the socket inserted by route_to under the cookie of the
    // socket whose bytes it receives: route_to(from_cookie, to_fd) makes to_fd the target of the
    // bytes `from` receives. Returns 0 or -errno.
    int route_to(uint64_t from_cookie, int to_fd);
    // Runs the verdict on the socket's receive path from now on. Returns 0 or -errno.
    int divert(uint64_t cookie, int socket_fd);

    size_t entries() const;  // sockets in both maps
    void read_counters(uint64_t &redirected, uint64_t &no_peer) const;

  private:
    struct dfaas_entry *skel_ = nullptr;
    int sources_fd_ = -1;
    int targets_fd_ = -1;
    int counters_fd_ = -1;
    int prog_fd_ = -1;
    int parser_fd_ = -1;
};

}  // namespace dfaas::entry
