// The ABI header is shared with the BPF programs: pin every layout the C++ side relies on, so a
// change on one side that the other does not expect fails the build instead of misreading maps.
#include <cstddef>

#include "dfaas/abi.h"

static_assert(sizeof(struct dfaas_config) == 80);
static_assert(offsetof(struct dfaas_config, default_limit_in) == 72);
static_assert(offsetof(struct dfaas_config, abi_version) == 0, "abi_version must stay first");
static_assert(offsetof(struct dfaas_config, ct_timeout_syn_ns) % 8 == 0);
static_assert(sizeof(struct dfaas_service_key) == 8);
static_assert(sizeof(struct dfaas_service) == 8);
static_assert(sizeof(struct dfaas_function) == DFAAS_FUNCTION_NAME_LEN + 8);
static_assert(sizeof(struct dfaas_slot) == 2);
static_assert(sizeof(struct dfaas_policy) ==
              4 * 6 + 4 + 2 * DFAAS_MAX_PEERS + 4 * DFAAS_MAX_PEERS + 4 * DFAAS_SELECT_SLOTS);
static_assert(sizeof(struct dfaas_peer) == 8);
static_assert(sizeof(struct dfaas_peer_addr) == 8);
static_assert(sizeof(struct dfaas_peer_stats) == 32);
static_assert(sizeof(struct dfaas_path_stats) == 32);
static_assert(sizeof(struct dfaas_fwd_in_stats) == 16);
static_assert(sizeof(struct dfaas_rate) == 24);
static_assert(offsetof(struct dfaas_rate, window_start_ns) == 16);
static_assert(sizeof(struct dfaas_ct_key) == 16);
static_assert(sizeof(struct dfaas_macs) == 12);
static_assert(sizeof(struct dfaas_ct_entry) == 64);
static_assert(offsetof(struct dfaas_ct_entry, client_seq_hi) == 60);
static_assert(offsetof(struct dfaas_ct_entry, server_seq_hi) == 62);
static_assert(offsetof(struct dfaas_ct_key, kind) == 12);
static_assert(DFAAS_MAX_PEERS <= 32, "peers_named bitmasks are 32 bits wide");
static_assert(DFAAS_MAX_PEERS <= 256, "dfaas_slot.peer is one byte");
static_assert((DFAAS_MAX_PEERS & (DFAAS_MAX_PEERS - 1)) == 0, "BPF masks peer indexes");
static_assert(DFAAS_SELECT_SLOTS == 256, "BPF takes slots from hash bytes");
// The public types header (dataplane/types.h) spells these defaults as literals.
static_assert(DFAAS_DEFAULT_LIMIT_IN == 1000);
static_assert(DFAAS_DEFAULT_CT_HALF_OPEN_ENTRIES == 64 * 1024);
