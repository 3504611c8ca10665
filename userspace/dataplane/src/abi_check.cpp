// The ABI header is shared with the BPF programs: pin every layout the C++ side relies on, so a
// change on one side that the other does not expect fails the build instead of misreading maps.
// Below them, the run-time half: what the loader does with maps pinned by an earlier binary.
#include <bpf/bpf.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstring>
#include <vector>

#include "abi_upgrade.h"
#include "dfaas/abi.h"
#include "dfaas/dataplane/types.h"
#include "policy_compiler.h"

// The policy value of ABI 2 and 3 (dfaas_policy without table_len and overflow_len).
constexpr size_t kAbi3PolicySize = 1244;
// The conntrack value of ABI 2 to 5 (dfaas_ct_entry without the HTTP fields of ABI 6).
constexpr size_t kAbi5CtEntrySize = 64;

static_assert(sizeof(struct dfaas_config) == 80);
static_assert(offsetof(struct dfaas_config, default_limit_in) == 72);
static_assert(offsetof(struct dfaas_config, abi_version) == 0, "abi_version must stay first");
static_assert(offsetof(struct dfaas_config, ct_timeout_syn_ns) % 8 == 0);
static_assert(sizeof(struct dfaas_service_key) == 8);
static_assert(sizeof(struct dfaas_service) == 8);
static_assert(sizeof(struct dfaas_function) == DFAAS_FUNCTION_NAME_LEN + 8);
static_assert(sizeof(struct dfaas_slot) == 2);
static_assert(sizeof(struct dfaas_policy) ==
              4 * 6 + 4 + 2 * DFAAS_MAX_PEERS + 4 * DFAAS_MAX_PEERS + 4 * DFAAS_SELECT_SLOTS + 4);
static_assert(offsetof(struct dfaas_policy, table_len) == kAbi3PolicySize,
              "ABI 4 appended the lengths to the ABI 3 policy: the migration copies that prefix");
static_assert(sizeof(struct dfaas_select_seq) == 16);
static_assert(sizeof(struct dfaas_peer) == 8);
static_assert(sizeof(struct dfaas_peer_addr) == 8);
static_assert(sizeof(struct dfaas_peer_stats) == 32);
static_assert(sizeof(struct dfaas_path_stats) == 32);
static_assert(sizeof(struct dfaas_fwd_in_stats) == 16);
static_assert(sizeof(struct dfaas_rate) == 24);
static_assert(offsetof(struct dfaas_rate, window_start_ns) == 16);
static_assert(sizeof(struct dfaas_ct_key) == 12);
static_assert(sizeof(struct dfaas_ct_gw_key) == 8);
static_assert(sizeof(struct dfaas_ct_ports) == 8192);
static_assert(sizeof(struct dfaas_macs) == 12);
static_assert(sizeof(struct dfaas_ct_entry) == 72);
static_assert(
    offsetof(struct dfaas_ct_entry, request_start_us) == kAbi5CtEntrySize,
    "ABI 6 appended the HTTP fields to the ABI 5 entry: the migration copies that prefix");
static_assert(offsetof(struct dfaas_ct_entry, client_macs) == 44);
static_assert(offsetof(struct dfaas_ct_entry, gateway_port) == 44);
static_assert(offsetof(struct dfaas_ct_entry, client_seq_hi) == 60);
static_assert(offsetof(struct dfaas_ct_entry, server_seq_hi) == 62);
static_assert(offsetof(struct dfaas_ct_entry, http_pending) == 68);
static_assert(offsetof(struct dfaas_ct_entry, http_flags) == 69);
static_assert(sizeof(struct dfaas_http_stats) == 320);
static_assert(offsetof(struct dfaas_http_stats, codes) == 8 * (DFAAS_HTTP_BUCKETS + 1));
// The public types header (dataplane/types.h) mirrors the histogram's shape.
static_assert(dfaas::dp::kHttpBuckets == DFAAS_HTTP_BUCKETS);
static_assert(dfaas::dp::kHttpCodes == DFAAS_HTTP_CODES);
static_assert(dfaas::dp::kHttpBucketBaseUs == DFAAS_HTTP_BUCKET_BASE_US);
static_assert(DFAAS_MAX_PEERS <= 32, "peers_named bitmasks are 32 bits wide");
static_assert(DFAAS_MAX_PEERS <= 256, "dfaas_slot.peer is one byte");
static_assert((DFAAS_MAX_PEERS & (DFAAS_MAX_PEERS - 1)) == 0, "BPF masks peer indexes");
static_assert(DFAAS_SELECT_SLOTS <= 0xffff, "table_len and overflow_len are 16 bits");
static_assert((DFAAS_SELECT_SLOTS & (DFAAS_SELECT_SLOTS - 1)) == 0, "BPF masks slot indexes");
// The public types header (dataplane/types.h) spells these defaults as literals.
static_assert(DFAAS_DEFAULT_LIMIT_IN == 1000);
static_assert(DFAAS_DEFAULT_CT_HALF_OPEN_ENTRIES == 64 * 1024);
// Sizes of pinned maps with headroom (ABI 3). Changing one is an ABI change: bump
// DFAAS_ABI_VERSION and add the migration below.
static_assert(DFAAS_REASONS_MAX == 128, "dfaas_reasons max_entries is part of the ABI");
static_assert(DFAAS_STAT_PATHS == 48, "dfaas_stats row width is part of the ABI");
static_assert(DFAAS_ABI_VERSION == 6 && DFAAS_ABI_OLDEST_MIGRATED == 2,
              "kMigrations below migrates ABI 2 to 5 to 6: update it with the version");

// ---- Run time: pinned maps of an earlier binary ------------------------------------------------

namespace dfaas::dp::abi {

namespace {

std::string errno_text(int err) {
    return std::strerror(err < 0 ? -err : err);
}

// Bytes one lookup of a key returns: per-CPU maps return one 8-byte-aligned value per CPU.
size_t lookup_bytes(int fd, uint32_t value_size) {
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    bool percpu =
        bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
        (info.type == BPF_MAP_TYPE_PERCPU_ARRAY || info.type == BPF_MAP_TYPE_PERCPU_HASH ||
         info.type == BPF_MAP_TYPE_LRU_PERCPU_HASH);
    if (!percpu) return value_size;
    int cpus = libbpf_num_possible_cpus();
    return static_cast<size_t>(cpus > 0 ? cpus : 1) * ((value_size + 7) / 8 * 8);
}

// Copies array element old_key of `old_fd` to new_key of `new_fd` (same value layout).
void copy_element(const char *name, int old_fd, uint32_t old_key, int new_fd, uint32_t new_key,
                  std::vector<uint8_t> &buf) {
    if (bpf_map_lookup_elem(old_fd, &old_key, buf.data()) != 0)
        throw Error("migrate " + std::string(name) + ": read element " + std::to_string(old_key) +
                        ": " + errno_text(errno),
                    errno);
    if (bpf_map_update_elem(new_fd, &new_key, buf.data(), BPF_ANY) != 0)
        throw Error("migrate " + std::string(name) + ": write element " + std::to_string(new_key) +
                        ": " + errno_text(errno),
                    errno);
}

int fd_of(bpf_map *map) {
    return bpf_map__fd(map);
}

// ABI 2 -> 3, dfaas_reasons: 41 counters -> DFAAS_REASONS_MAX. Values never change meaning, so
// counter i stays counter i.
constexpr uint32_t kAbi2Reasons = 41;
void migrate_reasons_from_abi2(int old_fd, bpf_object *, bpf_map *map) {
    int new_fd = fd_of(map);
    std::vector<uint8_t> buf(lookup_bytes(old_fd, sizeof(__u64)));
    for (uint32_t key = 0; key < kAbi2Reasons; ++key)
        copy_element("dfaas_reasons", old_fd, key, new_fd, key, buf);
}

// ABI 2 -> 3, dfaas_stats: rows function * 36 + path -> function * DFAAS_STAT_PATHS + path.
constexpr uint32_t kAbi2StatPaths = 36;
static_assert(DFAAS_STAT_PATHS_USED == kAbi2StatPaths,
              "a new stat path: its rows start at zero, nothing to migrate from ABI 2");
void migrate_stats_from_abi2(int old_fd, bpf_object *, bpf_map *map) {
    int new_fd = fd_of(map);
    std::vector<uint8_t> buf(lookup_bytes(old_fd, sizeof(dfaas_path_stats)));
    for (uint32_t function = 0; function < DFAAS_MAX_FUNCTIONS; ++function)
        for (uint32_t path = 0; path < kAbi2StatPaths; ++path)
            copy_element("dfaas_stats", old_fd, function * kAbi2StatPaths + path, new_fd,
                         function * DFAAS_STAT_PATHS + path, buf);
}

// ABI 2/3 -> 4, dfaas_policies: the value gained table_len and overflow_len at its end, and the
// tables of an installed policy are laid out again in SWRR order from the weights it stores
// (the old tables were largest-remainder blocks for a hash pick).
void migrate_policies_from_abi3(int old_fd, bpf_object *, bpf_map *map) {
    const int new_fd = fd_of(map);
    std::vector<uint8_t> buf(kAbi3PolicySize);
    for (uint32_t key = 0; key < DFAAS_MAX_FUNCTIONS; ++key) {
        if (bpf_map_lookup_elem(old_fd, &key, buf.data()) != 0)
            throw Error("migrate dfaas_policies: read element " + std::to_string(key) + ": " +
                            errno_text(errno),
                        errno);
        dfaas_policy value;
        std::memset(&value, 0, sizeof(value));
        std::memcpy(&value, buf.data(), kAbi3PolicySize);
        if (value.flags & DFAAS_POL_F_INSTALLED) dp::lay_out_tables(value);
        if (bpf_map_update_elem(new_fd, &key, &value, BPF_ANY) != 0)
            throw Error("migrate dfaas_policies: write element " + std::to_string(key) + ": " +
                            errno_text(errno),
                        errno);
    }
}

// ABI 2 to 4 -> 6, conntrack (bpf/lib/ct.h): the tables were keyed by a 16-byte key with a
// kind, LOCAL and FORWARDED_IN connections by the tuple after DNAT (client -> gateway). Every
// entry is re-keyed by the client's tuple as sent (the function address:port is in the entry),
// a DNATed one keeps its port at the gateway (the old key's, never remapped before ABI 5) and
// gets its gateway-side index entry, and the ports of user connections are marked in
// dfaas_ct_ports. So established connections keep their path across the upgrade. The entry's
// first kAbi5CtEntrySize bytes are the old value; the HTTP fields of ABI 6 start at zero (no
// request pending: the connection's next request starts timing).
struct CtKeyAbi3 {
    __u32 client_addr;
    __u32 service_addr;
    __u16 client_port;
    __u16 service_port;
    __u8 kind;  // 0: by the function tuple, 1: by the gateway tuple
    __u8 pad[3];
};
static_assert(sizeof(CtKeyAbi3) == 16);

void migrate_ct_table(int old_fd, bpf_object *obj, bpf_map *map, const char *index_name) {
    bpf_map *index = bpf_object__find_map_by_name(obj, index_name);
    bpf_map *ports_map = bpf_object__find_map_by_name(obj, "dfaas_ct_ports");
    if (index == nullptr || ports_map == nullptr)
        throw Error(std::string("migrate conntrack: the object has no ") + index_name +
                    " or dfaas_ct_ports map");
    uint32_t zero = 0;
    dfaas_ct_ports ports{};
    if (bpf_map_lookup_elem(fd_of(ports_map), &zero, &ports) != 0)
        throw Error("migrate conntrack: read dfaas_ct_ports: " + errno_text(errno), errno);
    CtKeyAbi3 old_key{}, next{};
    const void *prev = nullptr;
    while (bpf_map_get_next_key(old_fd, prev, &next) == 0) {
        old_key = next;
        prev = &old_key;
        dfaas_ct_entry entry{};  // the old value fills its prefix (kAbi5CtEntrySize)
        if (bpf_map_lookup_elem(old_fd, &old_key, &entry) != 0) continue;  // evicted meanwhile
        dfaas_ct_key key{old_key.client_addr, old_key.service_addr, old_key.client_port,
                         old_key.service_port};
        bool dnat = entry.path == DFAAS_PATH_LOCAL || entry.path == DFAAS_PATH_FORWARDED_IN;
        if (dnat) {
            key.service_addr = entry.service_addr;
            key.service_port = entry.service_port;
            std::memset(&entry.client_macs, 0, sizeof(entry.client_macs));
            entry.gateway_port = old_key.client_port;
        }
        if (bpf_map_update_elem(fd_of(map), &key, &entry, BPF_ANY) != 0)
            throw Error("migrate conntrack: write " + std::string(bpf_map__name(map)) + ": " +
                            errno_text(errno),
                        errno);
        if (dnat) {
            dfaas_ct_gw_key gw_key{old_key.client_addr, old_key.client_port, 0};
            if (bpf_map_update_elem(fd_of(index), &gw_key, &key, BPF_ANY) != 0)
                throw Error("migrate conntrack: write " + std::string(index_name) + ": " +
                                errno_text(errno),
                            errno);
        }
        if (entry.path != DFAAS_PATH_FORWARDED_IN) {
            uint16_t port = key.service_port;  // network order, as the programs index it
            ports.bits[port >> 6] |= uint64_t{1} << (port & 63);
        }
    }
    if (bpf_map_update_elem(fd_of(ports_map), &zero, &ports, BPF_ANY) != 0)
        throw Error("migrate conntrack: write dfaas_ct_ports: " + errno_text(errno), errno);
}

void migrate_ct_from_abi3(int old_fd, bpf_object *obj, bpf_map *map) {
    migrate_ct_table(old_fd, obj, map, "dfaas_ct_gw");
}

void migrate_ct_half_open_from_abi3(int old_fd, bpf_object *obj, bpf_map *map) {
    migrate_ct_table(old_fd, obj, map, "dfaas_ct_gw_half_open");
}

// ABI 5 -> 6, conntrack: same key, the entry grew by the HTTP fields at its end (zero: no request
// pending). The gateway-side index and dfaas_ct_ports are unchanged and reused as pinned.
void migrate_ct_from_abi5(int old_fd, bpf_object *, bpf_map *map) {
    dfaas_ct_key key{}, next{};
    const void *prev = nullptr;
    while (bpf_map_get_next_key(old_fd, prev, &next) == 0) {
        key = next;
        prev = &key;
        dfaas_ct_entry entry{};  // the old value fills its prefix (kAbi5CtEntrySize)
        if (bpf_map_lookup_elem(old_fd, &key, &entry) != 0) continue;  // evicted meanwhile
        if (bpf_map_update_elem(fd_of(map), &key, &entry, BPF_ANY) != 0)
            throw Error("migrate conntrack: write " + std::string(bpf_map__name(map)) + ": " +
                            errno_text(errno),
                        errno);
    }
}

// Every migration this binary knows: the pinned layout it starts from and the layout of this
// binary it produces. A pinned map that differs from this binary's and is not listed here is
// refused. Keep the entries of the ABIs from DFAAS_ABI_OLDEST_MIGRATED on.
struct Migration {
    const char *name;
    // max_entries 0 in both: any size, kept (the conntrack tables are sized by configuration
    // and the loader keeps the pinned size).
    MapShape from, to;
    void (*migrate)(int old_fd, bpf_object *obj, bpf_map *map);
};
const Migration kMigrations[] = {
    {"dfaas_reasons",
     {BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32), sizeof(__u64), kAbi2Reasons, 0},
     {BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32), sizeof(__u64), DFAAS_REASONS_MAX, 0},
     migrate_reasons_from_abi2},
    {"dfaas_stats",
     {BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32), sizeof(dfaas_path_stats),
      DFAAS_MAX_FUNCTIONS *kAbi2StatPaths, 0},
     {BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32), sizeof(dfaas_path_stats),
      DFAAS_MAX_FUNCTIONS *DFAAS_STAT_PATHS, 0},
     migrate_stats_from_abi2},
    {"dfaas_policies",
     {BPF_MAP_TYPE_ARRAY, sizeof(__u32), kAbi3PolicySize, DFAAS_MAX_FUNCTIONS, 0},
     {BPF_MAP_TYPE_ARRAY, sizeof(__u32), sizeof(dfaas_policy), DFAAS_MAX_FUNCTIONS, 0},
     migrate_policies_from_abi3},
    {"dfaas_ct",
     {BPF_MAP_TYPE_LRU_HASH, sizeof(CtKeyAbi3), kAbi5CtEntrySize, 0, 0},
     {BPF_MAP_TYPE_LRU_HASH, sizeof(dfaas_ct_key), sizeof(dfaas_ct_entry), 0, 0},
     migrate_ct_from_abi3},
    {"dfaas_ct_half_open",
     {BPF_MAP_TYPE_LRU_HASH, sizeof(CtKeyAbi3), kAbi5CtEntrySize, 0, 0},
     {BPF_MAP_TYPE_LRU_HASH, sizeof(dfaas_ct_key), sizeof(dfaas_ct_entry), 0, 0},
     migrate_ct_half_open_from_abi3},
    {"dfaas_ct",
     {BPF_MAP_TYPE_LRU_HASH, sizeof(dfaas_ct_key), kAbi5CtEntrySize, 0, 0},
     {BPF_MAP_TYPE_LRU_HASH, sizeof(dfaas_ct_key), sizeof(dfaas_ct_entry), 0, 0},
     migrate_ct_from_abi5},
    {"dfaas_ct_half_open",
     {BPF_MAP_TYPE_LRU_HASH, sizeof(dfaas_ct_key), kAbi5CtEntrySize, 0, 0},
     {BPF_MAP_TYPE_LRU_HASH, sizeof(dfaas_ct_key), sizeof(dfaas_ct_entry), 0, 0},
     migrate_ct_from_abi5},
};

const Migration *find_migration(const std::string &name, const MapShape &pinned,
                                const MapShape &wanted) {
    for (const auto &m : kMigrations) {
        if (name != m.name) continue;
        MapShape from = m.from, to = m.to;
        if (from.max_entries == 0 && to.max_entries == 0) {
            if (pinned.max_entries != wanted.max_entries) continue;
            from.max_entries = to.max_entries = pinned.max_entries;
        }
        if (pinned == from && wanted == to) return &m;
    }
    return nullptr;
}

}  // namespace

std::string describe_shape(const MapShape &s) {
    return "type " + std::to_string(s.type) + ", key " + std::to_string(s.key_size) + " B, value " +
           std::to_string(s.value_size) + " B, " + std::to_string(s.max_entries) +
           " entries, flags 0x" + [&] {
               char hex[16];
               std::snprintf(hex, sizeof(hex), "%x", s.flags);
               return std::string(hex);
           }();
}

void check_pinned_version(const std::string &dir) {
    std::string path = dir + "/dfaas_config";
    int fd = bpf_obj_get(path.c_str());
    if (fd < 0) return;  // nothing pinned yet
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    std::vector<uint8_t> value;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) value.resize(info.value_size);
    uint32_t key = 0, version = 0;
    bool ok = value.size() >= 4 && bpf_map_lookup_elem(fd, &key, value.data()) == 0;
    close(fd);
    // abi_version is the first field of the config value in every ABI version.
    if (ok) std::memcpy(&version, value.data(), sizeof(version));
    if (!ok || version == 0 || version == DFAAS_ABI_VERSION) return;
    if (version > DFAAS_ABI_VERSION)
        throw Error("maps pinned under " + dir + " have ABI version " + std::to_string(version) +
                    ", newer than this binary's " + std::to_string(DFAAS_ABI_VERSION) +
                    ": run the newer binary, or detach first (`dfaasctl dp detach`; open "
                    "connections will be reset)");
    if (version < DFAAS_ABI_OLDEST_MIGRATED)
        throw Error("maps pinned under " + dir + " have ABI version " + std::to_string(version) +
                    ", this binary uses " + std::to_string(DFAAS_ABI_VERSION) +
                    " and migrates from " + std::to_string(DFAAS_ABI_OLDEST_MIGRATED) +
                    " only: detach first (`dfaasctl dp detach`; open connections will be reset)");
}

PinnedUpgrade PinnedUpgrade::prepare(bpf_object *obj) {
    PinnedUpgrade upgrade;
    bpf_map *map = nullptr;
    bpf_object__for_each_map(map, obj) {
        const char *pin = bpf_map__pin_path(map);
        if (pin == nullptr) continue;  // not pinned (scratch)
        std::string name = bpf_map__name(map);
        int fd = bpf_obj_get(pin);
        if (fd < 0) {
            if (errno == ENOENT) continue;  // a map new in this version: created and pinned
            throw Error("open pinned map " + std::string(pin) + ": " + errno_text(errno), errno);
        }
        bpf_map_info info{};
        uint32_t len = sizeof(info);
        if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) {
            int err = errno;
            close(fd);
            throw Error("inspect pinned map " + std::string(pin) + ": " + errno_text(err), err);
        }
        MapShape pinned{info.type, info.key_size, info.value_size, info.max_entries,
                        info.map_flags};
        MapShape wanted{static_cast<uint32_t>(bpf_map__type(map)), bpf_map__key_size(map),
                        bpf_map__value_size(map), bpf_map__max_entries(map),
                        bpf_map__map_flags(map)};
        if (pinned == wanted) {
            close(fd);  // libbpf reuses it
            continue;
        }
        const Migration *migration = find_migration(name, pinned, wanted);
        if (migration == nullptr) {
            close(fd);
            throw Error("pinned map " + std::string(pin) + " (" + describe_shape(pinned) +
                        ") does not match this binary's " + name + " (" + describe_shape(wanted) +
                        ") and no migration from that layout is known: detach first (`dfaasctl "
                        "dp detach`; open connections will be reset)");
        }
        Step step;
        step.name = name;
        step.pin_path = pin;
        step.old_fd = fd;
        step.map = map;
        step.obj = obj;
        step.migrate = migration->migrate;
        // libbpf now creates this map fresh instead of reusing (and failing on) the old pin.
        if (int err = bpf_map__set_pin_path(map, nullptr))
            throw Error("unpin " + name + " in the BPF object: " + errno_text(err), err);
        upgrade.steps_.push_back(std::move(step));
    }
    return upgrade;
}

PinnedUpgrade::~PinnedUpgrade() {
    for (auto &step : steps_)
        if (step.old_fd >= 0) close(step.old_fd);
}

void PinnedUpgrade::copy_state() {
    for (auto &step : steps_)
        step.migrate(step.old_fd, step.obj, step.map);
}

void PinnedUpgrade::repin() {
    for (auto &step : steps_) {
        // bpffs refuses names with a dot (reserved for its own files).
        std::string staging = step.pin_path + "_upgrade";
        unlink(staging.c_str());  // left over from an interrupted upgrade
        if (bpf_obj_pin(bpf_map__fd(step.map), staging.c_str()) != 0)
            throw Error("pin migrated " + step.name + " at " + staging + ": " + errno_text(errno),
                        errno);
        // rename replaces the old pin in one step: a reader opens either map, never none.
        if (rename(staging.c_str(), step.pin_path.c_str()) != 0) {
            int err = errno;
            unlink(staging.c_str());
            throw Error("replace pin " + step.pin_path + ": " + errno_text(err), err);
        }
    }
}

std::string PinnedUpgrade::summary() const {
    std::string out;
    for (const auto &step : steps_)
        out += (out.empty() ? "" : ", ") + step.name;
    return out;
}

}  // namespace dfaas::dp::abi
