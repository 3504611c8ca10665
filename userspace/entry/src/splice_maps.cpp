#include "splice_maps.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "dfaas_entry.skel.h"

namespace dfaas::entry {

namespace {

[[noreturn]] void fail(const std::string &step, int err) {
    throw std::runtime_error("entry splice: " + step + ": " + std::strerror(err < 0 ? -err : err));
}

size_t count_keys(int map_fd) {
    size_t n = 0;
    uint64_t key = 0, next = 0;
    uint64_t *previous = nullptr;
    while (bpf_map_get_next_key(map_fd, previous, &next) == 0) {
        ++n;
        key = next;
        previous = &key;
    }
    return n;
}

}  // namespace

SpliceMaps::SpliceMaps(uint32_t entries) {
    skel_ = dfaas_entry__open();
    if (!skel_) fail("open", errno);
    int err = bpf_map__set_max_entries(skel_->maps.dfaas_splice_sources, entries);
    if (!err) err = bpf_map__set_max_entries(skel_->maps.dfaas_splice_targets, entries);
    if (err) {
        dfaas_entry__destroy(skel_);
        fail("size maps", err);
    }
    err = dfaas_entry__load(skel_);
    if (err) {
        dfaas_entry__destroy(skel_);
        fail("load", err);
    }
    sources_fd_ = bpf_map__fd(skel_->maps.dfaas_splice_sources);
    targets_fd_ = bpf_map__fd(skel_->maps.dfaas_splice_targets);
    counters_fd_ = bpf_map__fd(skel_->maps.dfaas_splice_counters);
    prog_fd_ = bpf_program__fd(skel_->progs.dfaas_entry_verdict);
    parser_fd_ = bpf_program__fd(skel_->progs.dfaas_entry_parser);
    // The parser too, not the verdict alone: see splice_stream_parser() in bpf/lib/splice.h.
    err = bpf_prog_attach(parser_fd_, sources_fd_, BPF_SK_SKB_STREAM_PARSER, 0);
    if (!err) err = bpf_prog_attach(prog_fd_, sources_fd_, BPF_SK_SKB_STREAM_VERDICT, 0);
    if (err) {
        int saved = errno;
        dfaas_entry__destroy(skel_);
        fail("attach the stream parser and verdict", saved);
    }
}

SpliceMaps::~SpliceMaps() {
    bpf_prog_detach2(prog_fd_, sources_fd_, BPF_SK_SKB_STREAM_VERDICT);
    bpf_prog_detach2(parser_fd_, sources_fd_, BPF_SK_SKB_STREAM_PARSER);
    dfaas_entry__destroy(skel_);
}

int SpliceMaps::route_to(uint64_t from_cookie, int to_fd) {
    uint64_t value = static_cast<uint64_t>(to_fd);
    return bpf_map_update_elem(targets_fd_, &from_cookie, &value, BPF_NOEXIST) ? -errno : 0;
}

int SpliceMaps::divert(uint64_t cookie, int socket_fd) {
    uint64_t value = static_cast<uint64_t>(socket_fd);
    return bpf_map_update_elem(sources_fd_, &cookie, &value, BPF_NOEXIST) ? -errno : 0;
}

size_t SpliceMaps::entries() const {
    return count_keys(sources_fd_) + count_keys(targets_fd_);
}

void SpliceMaps::read_counters(uint64_t &redirected, uint64_t &no_peer) const {
    const int cpus = libbpf_num_possible_cpus();
    std::vector<uint64_t> values(cpus > 0 ? cpus : 1);
    auto sum = [&](uint32_t key) {
        uint64_t total = 0;
        if (bpf_map_lookup_elem(counters_fd_, &key, values.data()) == 0)
            for (uint64_t v : values)
                total += v;
        return total;
    };
    redirected = sum(0);
    no_peer = sum(1);
}

}  // namespace dfaas::entry
