// Upgrading in place over maps pinned by an earlier binary (docs/architecture.md, "ABI version
// rule"): every pinned map is compared with the object's definition before load; a map that
// matches is reused, a map of a known earlier layout is migrated into a new map, anything else
// is refused with an error naming the map, before anything changes.
#pragma once

#include <bpf/libbpf.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace dfaas::dp::abi {

// What libbpf compares before it reuses a pinned map (map_is_reuse_compat).
struct MapShape {
    uint32_t type = 0, key_size = 0, value_size = 0, max_entries = 0, flags = 0;
    bool operator==(const MapShape &) const = default;
};
std::string describe_shape(const MapShape &shape);

// Throws Error (mentioning "ABI version") when the maps pinned under `dir` were written by a
// newer binary or by one older than DFAAS_ABI_OLDEST_MIGRATED. Nothing pinned: no-op.
void check_pinned_version(const std::string &dir);

// The maps of one load that replace pinned maps of an earlier layout.
class PinnedUpgrade {
  public:
    // Call after open and before load. Compares every pinned map of `obj` with its pin (the
    // object's pin path): equal or absent -> libbpf reuses or creates it; a known earlier
    // layout -> the map is unpinned in `obj` (libbpf creates it fresh) and migrated later;
    // otherwise throws Error naming the map, both layouts and how to proceed.
    static PinnedUpgrade prepare(bpf_object *obj);

    PinnedUpgrade(PinnedUpgrade &&) = default;
    PinnedUpgrade &operator=(PinnedUpgrade &&) = default;
    ~PinnedUpgrade();

    // After load, just before the programs are swapped: copies the old maps' values into the
    // new maps in the new layout (counters incremented by the old programs after this copy, a
    // few milliseconds' worth, are lost).
    void copy_state();
    // After the swap: pins each new map in place of the old one (atomic rename on bpffs).
    void repin();
    // Names of the maps migrated, for the log ("" when none).
    std::string summary() const;
    bool empty() const { return steps_.empty(); }

  private:
    PinnedUpgrade() = default;
    struct Step {
        std::string name;
        std::string pin_path;
        int old_fd = -1;
        bpf_map *map = nullptr;     // the new map in the object (fd valid after load)
        bpf_object *obj = nullptr;  // the object `map` belongs to (its other maps, after load)
        std::function<void(int old_fd, bpf_object *obj, bpf_map *map)> migrate;
    };
    std::vector<Step> steps_;
};

}  // namespace dfaas::dp::abi
