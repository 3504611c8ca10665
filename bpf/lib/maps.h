/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every map of the data plane. All are pinned by name under the loader's pin root
 * (/sys/fs/bpf/dfaas by default) so a restarted or upgraded loader reuses them: counters, rate
 * windows and conntrack survive, and established connections keep their path. A change to a
 * definition here (type, key, value, max_entries) is an ABI change: bump DFAAS_ABI_VERSION and
 * teach the loader the migration (userspace/dataplane/src/abi_check.cpp), or it refuses the pins.
 */
#ifndef DFAAS_BPF_MAPS_H
#define DFAAS_BPF_MAPS_H

#include "lib/common.h"

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct dfaas_config);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} dfaas_config SEC(".maps");

DFAAS_INLINE struct dfaas_config *load_config(void) {
    __u32 zero = 0;
    return bpf_map_lookup_elem(&dfaas_config, &zero);
}

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4 * DFAAS_MAX_FUNCTIONS * 8);
    __type(key, struct dfaas_service_key);
    __type(value, struct dfaas_service);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} dfaas_services SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, DFAAS_MAX_FUNCTIONS);
    __type(key, __u32);
    __type(value, struct dfaas_function);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} dfaas_functions SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, DFAAS_MAX_FUNCTIONS);
    __type(key, __u32);
    __type(value, struct dfaas_policy);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} dfaas_policies SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, DFAAS_MAX_PEERS);
    __type(key, __u32);
    __type(value, struct dfaas_peer);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} dfaas_peers SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, DFAAS_MAX_PEERS);
    __type(key, __u32);
    __type(value, struct dfaas_peer_addr);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} dfaas_peer_addrs SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, DFAAS_MAX_PEERS);
    __type(key, __u32);
    __type(value, struct dfaas_peer_stats);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} dfaas_peer_stats SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, DFAAS_MAX_FUNCTIONS *DFAAS_STAT_PATHS);
    __type(key, __u32);
    __type(value, struct dfaas_path_stats);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} dfaas_stats SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, DFAAS_MAX_FUNCTIONS *DFAAS_MAX_PEERS);
    __type(key, __u32);
    __type(value, struct dfaas_fwd_in_stats);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} dfaas_fwd_in_stats SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, DFAAS_REASONS_MAX); /* headroom: new reasons reuse the pin */
    __type(key, __u32);
    __type(value, __u64);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} dfaas_reasons SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, DFAAS_MAX_FUNCTIONS);
    __type(key, __u32);
    __type(value, struct dfaas_rate);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} dfaas_rate_local SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, DFAAS_MAX_FUNCTIONS *DFAAS_MAX_PEERS);
    __type(key, __u32);
    __type(value, struct dfaas_rate);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} dfaas_rate_fwd_in SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct dfaas_rate);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} dfaas_rate_syn SEC(".maps");

/* HTTP/1.x responses and request latencies per (function, route) (lib/http.h). A hash, not an
 * array: only the routes that carry HTTP get an entry (functions x paths would be 48 Ki values per
 * CPU). No preallocation: an entry is allocated at a route's first response. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, DFAAS_HTTP_STATS_ENTRIES);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, __u32);
    __type(value, struct dfaas_http_stats);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} dfaas_http_stats SEC(".maps");

/* The zero value dfaas_http_stats entries are created from: 320 bytes do not fit on the BPF
 * stack next to the rest of the established path. Never written. Not pinned. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct dfaas_http_stats);
} dfaas_http_zero SEC(".maps");

/* Selection sequences (lib/select.h). Atomic, not per-CPU: one sequence per table is what makes
 * any window of a cycle's length hold exactly each weight, whichever CPU takes each SYN. Not
 * pinned: a reload starts every cycle at slot 0 again, which only the windows spanning the reload
 * notice (as with a policy rewrite), and it keeps the sequences out of the pinned ABI. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, DFAAS_MAX_FUNCTIONS);
    __type(key, __u32);
    __type(value, struct dfaas_select_seq);
} dfaas_select_seq SEC(".maps");

/*
 * Conntrack. max_entries of both tables is set by the loader from the configuration before load.
 *
 * One LRU list shared by all CPUs (no BPF_F_NO_COMMON_LRU): with per-CPU lists the kernel gives
 * each CPU max_entries / ncpus elements, so when RSS puts most flows on one CPU (a few clients,
 * one busy queue) that CPU evicts live connections with most of the table unused. The common
 * list takes its global lock once per batch of free elements per CPU (LOCAL_FREE_TARGET), and
 * only the half-open table sees inserts at SYN rate; established entries are inserted once per
 * confirmed handshake.
 */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, DFAAS_DEFAULT_CT_ENTRIES);
    __type(key, struct dfaas_ct_key);
    __type(value, struct dfaas_ct_entry);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} dfaas_ct SEC(".maps");

/* Connections whose handshake is not confirmed yet (see lib/ct.h): a SYN flood evicts here. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, DFAAS_DEFAULT_CT_HALF_OPEN_ENTRIES);
    __type(key, struct dfaas_ct_key);
    __type(value, struct dfaas_ct_entry);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} dfaas_ct_half_open SEC(".maps");

/* The gateway-side index of lib/ct.h, split like the tables it points into: an index entry is
 * created half-open at the SYN and moves to dfaas_ct_gw at promotion, so a SYN flood evicts only
 * index entries of other half-open connections. Sized by the loader like the table each mirrors. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, DFAAS_DEFAULT_CT_ENTRIES);
    __type(key, struct dfaas_ct_gw_key);
    __type(value, struct dfaas_ct_key);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} dfaas_ct_gw SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, DFAAS_DEFAULT_CT_HALF_OPEN_ENTRIES);
    __type(key, struct dfaas_ct_gw_key);
    __type(value, struct dfaas_ct_key);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} dfaas_ct_gw_half_open SEC(".maps");

/* Destination ports with tracked user connections: the filter in front of the conntrack lookup
 * (struct dfaas_ct_ports). */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct dfaas_ct_ports);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} dfaas_ct_ports SEC(".maps");

/* Per-CPU scratch space for building a conntrack entry: the BPF stack (512 bytes for the whole
 * call chain) is too small to hold it next to everything else on the SYN path. Not pinned. */
struct dfaas_ct_scratch {
    struct dfaas_ct_key key;
    struct dfaas_ct_entry entry;
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct dfaas_ct_scratch);
} dfaas_ct_scratch SEC(".maps");

/* Monitor events (lib/events.h): the ring `dfaasctl monitor` reads, the lease and filters it
 * writes, and each CPU's token bucket (not pinned: a reload may start the buckets afresh). */
struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, DFAAS_EVENTS_RING_BYTES);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} dfaas_events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct dfaas_event_config);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} dfaas_event_config SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct dfaas_event_state);
} dfaas_event_state SEC(".maps");

#endif
