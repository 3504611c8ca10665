/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The data plane's ABI: every map key and value shared between the BPF programs and the C++
 * control library. One header for both sides so the layouts cannot drift apart.
 *
 * Rules: fixed-width types only, explicit padding, no bitfields, natural alignment. Addresses
 * and ports are stored in network byte order (as they appear in packets) so the fast path never
 * swaps bytes; the C++ side converts. The C++ side checks every size with static_assert
 * (userspace/dataplane/abi_check.cpp).
 *
 * Upgrades keep the pinned maps (docs/architecture.md, "ABI version rule"): programs, new maps
 * and new reasons or statistics paths within the headroom below change nothing pinned. Bump
 * DFAAS_ABI_VERSION when a pinned map changes its type, key, value or size, or an index or field
 * changes meaning; the loader then migrates the maps of the versions it knows (abi_check.cpp) and
 * refuses the others, naming the map, instead of misreading them.
 */
#ifndef DFAAS_ABI_H
#define DFAAS_ABI_H

#if defined(__bpf__)
/* vmlinux.h (generated at build time) provides __u8.. __u64 and struct bpf_spin_lock. */
#else
#include <linux/types.h>
#include <linux/bpf.h>
#endif

/* 3: dfaas_reasons sized DFAAS_REASONS_MAX (was the reason count, 41), dfaas_stats rows
 * DFAAS_STAT_PATHS wide (was 36). Both migrated from ABI 2 by the loader.
 * 4: dfaas_policy gains table_len and overflow_len (the tables are in smooth weighted round robin
 * order); the loader migrates ABI 2 and 3 policies by laying their tables out again from the
 * weights they store.
 * 5: conntrack v2 (lib/ct.h): dfaas_ct and dfaas_ct_half_open keyed by the client's tuple as sent
 * for every path (12-byte key, was 16 with a kind), the gateway-side index dfaas_ct_gw /
 * dfaas_ct_gw_half_open and the port filter dfaas_ct_ports are new. The loader translates the
 * conntrack tables of ABI 2 to 4 (established connections keep their path).
 * 6: dfaas_ct_entry grows to 72 bytes (request_start_us, http_pending, http_flags: HTTP response
 * status and latency per request, lib/http.h); dfaas_http_stats is new. The loader translates the
 * conntrack tables of ABI 2 to 5. */
#define DFAAS_ABI_VERSION 6
/* The oldest ABI whose pinned maps the loader migrates; older pins are refused. */
#define DFAAS_ABI_OLDEST_MIGRATED 2

#ifdef __cplusplus
#define DFAAS_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define DFAAS_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* Capacity limits. OpenFaaS CE caps a node at 15 functions and a federation of edge nodes is
 * tens of nodes, so these leave ample room while keeping per-CPU statistics small. */
#define DFAAS_MAX_FUNCTIONS 256
#define DFAAS_MAX_PEERS 32
#define DFAAS_FUNCTION_NAME_LEN 64

/* Each policy is compiled into two selection tables (weighted and overflow) laid out in smooth
 * weighted round robin order, one cycle of the weights long (their total over their gcd) and at
 * most DFAAS_SELECT_SLOTS slots: the n-th new connection of a function takes slot n % length. */
#define DFAAS_SELECT_SLOTS 256

/* limit_in value meaning "no cap configured" for a (function, peer) pair. */
#define DFAAS_UNLIMITED 0xffffffffu

#define DFAAS_DEFAULT_CT_ENTRIES (256 * 1024)
/* Half-open connections (SYN seen, handshake not confirmed) live in a table of their own, so a
 * SYN flood can only evict other half-open entries, never established ones. */
#define DFAAS_DEFAULT_CT_HALF_OPEN_ENTRIES (64 * 1024)

/* Forwarded-in connections per second a peer may open towards one function when the function's
 * policy names no limit_in for that peer (dfaas_config.default_limit_in). */
#define DFAAS_DEFAULT_LIMIT_IN 1000

/* What a selection slot (and a connection) does. */
enum dfaas_action {
    DFAAS_ACTION_NONE = 0,   /* empty slot: the function has no policy -> pass to the stack */
    DFAAS_ACTION_LOCAL = 1,  /* DNAT to the local gateway */
    DFAAS_ACTION_PEER = 2,   /* forward to a peer (IP-in-IP) */
    DFAAS_ACTION_REJECT = 3, /* RST (or drop, per config) */
};

/* Path of a tracked connection. */
enum dfaas_ct_path {
    DFAAS_PATH_LOCAL = 1,        /* user connection served by the local gateway */
    DFAAS_PATH_FORWARD = 2,      /* user connection forwarded to a peer (this node encapsulates) */
    DFAAS_PATH_FORWARDED_IN = 3, /* connection a peer forwarded to us (served locally) */
    DFAAS_PATH_REJECT = 4,       /* rejected with reject mode "drop": remembered for SYN retries */
};

/* Simplified TCP state of a tracked connection (one value per ct entry/direction). */
enum dfaas_tcp_state {
    DFAAS_TCP_SYN_SENT = 1,    /* client SYN seen */
    DFAAS_TCP_SYN_RECV = 2,    /* server SYN-ACK seen */
    DFAAS_TCP_ESTABLISHED = 3, /* client ACK after the handshake, or data */
    DFAAS_TCP_CLOSING = 4,     /* a FIN was seen */
    DFAAS_TCP_CLOSED = 5,      /* RST, or FINs both ways */
};

/* Statistics rows per function: fixed paths first, then one row per peer for forwarded traffic.
 * Values never change meaning; a new fixed path takes the first free row after the peers
 * (DFAAS_STAT_PATHS_USED) and must stay below DFAAS_STAT_PATHS. */
enum dfaas_stat_path {
    DFAAS_STAT_LOCAL = 0,               /* user connections served locally */
    DFAAS_STAT_REJECT = 1,              /* user connections rejected */
    DFAAS_STAT_FORWARDED_IN = 2,        /* forwarded-in connections accepted (all peers) */
    DFAAS_STAT_FORWARDED_IN_REJECT = 3, /* forwarded-in connections over limit_in (all peers) */
    DFAAS_STAT_PEER_BASE = 4,           /* + peer index: user connections forwarded to that peer */
};
/* Rows in use today. */
#define DFAAS_STAT_PATHS_USED (DFAAS_STAT_PEER_BASE + DFAAS_MAX_PEERS)
/* Width of a function's block in dfaas_stats (index function * DFAAS_STAT_PATHS + path): fixed,
 * with 12 spare rows, so a new path reuses the pinned map of an older binary. */
#define DFAAS_STAT_PATHS 48
DFAAS_STATIC_ASSERT(DFAAS_STAT_PATHS_USED <= DFAAS_STAT_PATHS, "stat paths exceed their headroom");

/*
 * Why a packet was passed to the stack or dropped, or which notable event happened: one named
 * counter each, in the PERCPU array dfaas_reasons indexed by the value.
 *
 * The list is the single source of the enum (BPF and C++) and of the counter names
 * (userspace/dataplane/src/reasons.cpp, the metric labels and `dfaasctl dp stats`):
 * X(ID, value, "name") gives DFAAS_R_<ID> = value. Values are the index of a pinned counter, so:
 *   - never renumber an entry and never reuse a value;
 *   - a new reason takes the next value, at the end (reasons.cpp checks at compile time that the
 *     values run 0, 1, 2, ... so every value has exactly one name);
 *   - a reason no longer counted keeps its line, renamed UNUSED_<value> / "unused_<value>" (as
 *     Cilium keeps DROP_UNUSED*), so old counters never change meaning;
 *   - values stay below DFAAS_REASONS_MAX, the fixed size of dfaas_reasons: a new reason reuses
 *     the pinned map of an older binary (docs/architecture.md, "ABI version rule").
 */
#define DFAAS_REASONS(X)                                              \
    /* every packet seen at ingress */                                \
    X(PKT_INGRESS, 0, "pkt_ingress")                                  \
    /* every packet seen at egress */                                 \
    X(PKT_EGRESS, 1, "pkt_egress")                                    \
    /* IPv6, ARP, ...: passed untouched */                            \
    X(PASS_NOT_IPV4, 2, "pass_not_ipv4")                              \
    /* UDP, ICMP, ...: passed */                                      \
    X(PASS_NOT_TCP, 3, "pass_not_tcp")                                \
    /* IPv4 fragment: passed */                                       \
    X(PASS_FRAGMENT, 4, "pass_fragment")                              \
    /* TCP not to a function port: passed */                          \
    X(PASS_NO_SERVICE, 5, "pass_no_service")                          \
    /* function port without an installed policy: passed */           \
    X(PASS_NO_POLICY, 6, "pass_no_policy")                            \
    /* non-SYN to a function port with no ct entry: passed */         \
    X(PASS_CT_MISS_MIDFLOW, 7, "pass_ct_miss_midflow")                \
    /* IP-in-IP from a stranger, not to a function port: passed       \
     * (other tunnels, e.g. a CNI's, are not ours to judge) */        \
    X(PASS_IPIP_UNKNOWN_PEER, 8, "pass_ipip_unknown_peer")            \
    /* egress packet from the gateway port with no ct entry */        \
    X(PASS_EGRESS_NO_CT, 9, "pass_egress_no_ct")                      \
    /* truncated or inconsistent headers: passed, the stack judges */ \
    X(PASS_MALFORMED, 10, "pass_malformed")                           \
    /* conntrack insert failed: dropped (client retries) */           \
    X(DROP_CT_INSERT, 11, "drop_ct_insert")                           \
    /* bpf_skb_adjust_room (encap) failed */                          \
    X(DROP_ENCAP, 12, "drop_encap")                                   \
    /* bpf_skb_adjust_room (decap) failed */                          \
    X(DROP_DECAP, 13, "drop_decap")                                   \
    /* no route to the peer/client */                                 \
    X(DROP_FIB, 14, "drop_fib")                                       \
    /* packet too big for the path after encapsulation */             \
    X(DROP_MTU, 15, "drop_mtu")                                       \
    /* rejected connection, reject mode "drop" */                     \
    X(DROP_REJECT, 16, "drop_reject")                                 \
    /* rewriting addresses/ports/checksums failed */                  \
    X(DROP_NAT, 17, "drop_nat")                                       \
    /* forwarded-in connection for a function we do not serve */      \
    X(DROP_FWD_IN_NO_SERVICE, 18, "drop_fwd_in_no_service")           \
    /* policy names a peer index with no address */                   \
    X(DROP_PEER_GONE, 19, "drop_peer_gone")                           \
    /* RST answered for a rejected SYN */                             \
    X(RST_SENT, 20, "rst_sent")                                       \
    /* building the RST failed: dropped instead */                    \
    X(RST_FAILED, 21, "rst_failed")                                   \
    /* new connection selected */                                     \
    X(SYN_NEW, 22, "syn_new")                                         \
    /* SYN for a connection already tracked */                        \
    X(SYN_RETRANSMIT, 23, "syn_retransmit")                           \
    /* SYN-flood guard active: rejected SYN not tracked */            \
    X(SYN_GUARD, 24, "syn_guard")                                     \
    /* local cap reached: overflow choice taken */                    \
    X(LOCAL_CAP_OVERFLOW, 25, "local_cap_overflow")                   \
    /* MSS option lowered on a forwarded SYN/SYN-ACK */               \
    X(MSS_CLAMPED, 26, "mss_clamped")                                 \
    /* packets encapsulated towards a peer */                         \
    X(ENCAP_OUT, 27, "encap_out")                                     \
    /* packets decapsulated from a peer */                            \
    X(DECAP_IN, 28, "decap_in")                                       \
    /* neighbour unresolved or forwarding off: redirect_neigh */      \
    X(FIB_NEIGH_FALLBACK, 29, "fib_neigh_fallback")                   \
    /* client segments starting with an HTTP method */                \
    X(HTTP_REQUEST, 30, "http_request")                               \
    /* new connection's client tuple already in use towards the       \
     * gateway: its client port remapped at the gateway (SNAT) */     \
    X(CT_COLLISION, 31, "ct_collision")                               \
    /* IPv4 header with options seen on a steered packet */           \
    X(IP_OPTIONS, 32, "ip_options")                                   \
    /* IP-in-IP to a function port from an address that is not        \
     * a peer: dropped */                                             \
    X(DROP_IPIP_NOT_PEER, 33, "drop_ipip_not_peer")                   \
    /* IP-in-IP from a peer whose outer destination is not this       \
     * node's address: dropped */                                     \
    X(DROP_IPIP_NOT_FOR_NODE, 34, "drop_ipip_not_for_node")           \
    /* IP-in-IP from a peer whose inner destination is not one        \
     * of that peer's own function ports: dropped */                  \
    X(DROP_IPIP_FOREIGN_SERVICE, 35, "drop_ipip_foreign_service")     \
    /* half-open entry confirmed by the client's ACK: established */  \
    X(CT_PROMOTED, 36, "ct_promoted")                                 \
    /* the established table refused the insert: still half-open */   \
    X(CT_PROMOTE_FAILED, 37, "ct_promote_failed")                     \
    /* client ACK of a half-open connection that does not ACK the     \
     * server's SYN-ACK (blind or spoofed): not promoted */           \
    X(CT_ACK_UNCONFIRMED, 38, "ct_ack_unconfirmed")                   \
    /* RST/FIN outside the connection's sequence window: the entry    \
     * is left as it was (the endpoint judges the packet) */          \
    X(CT_OUT_OF_WINDOW, 39, "ct_out_of_window")                       \
    /* forwarded-in SYN judged by the default limit_in */             \
    X(FWD_IN_DEFAULT_LIMIT, 40, "fwd_in_default_limit")               \
    /* monitor event not sent: its connection fell outside the        \
     * 1-in-N sample (dfaas_event_config.sample_every) */             \
    X(EVENT_SAMPLED_OUT, 41, "event_sampled_out")                     \
    /* monitor event not sent: the CPU's token bucket was empty */    \
    X(EVENT_RATE_LIMITED, 42, "event_rate_limited")                   \
    /* monitor event not sent: the ring buffer was full (the          \
     * monitor reads too slowly) */                                   \
    X(EVENT_RING_FULL, 43, "event_ring_full")                         \
    /* monitor event written to the ring buffer */                    \
    X(EVENT_SENT, 44, "event_sent")                                   \
    /* no free client port at the gateway after DFAAS_NAT_PROBES      \
     * tries: the connection went to its overflow peer or was refused \
     */                                                               \
    X(NAT_PORTS_EXHAUSTED, 45, "nat_ports_exhausted")                 \
    /* a gateway-side index entry of a gone or finished connection    \
     * taken over by a new connection */                              \
    X(NAT_PORT_RECLAIMED, 46, "nat_port_reclaimed")                   \
    /* SYN with a new sequence number on a half-open entry: the       \
     * client gave up that attempt and reuses its port; the new       \
     * connection selects its own path */                             \
    X(SYN_NEW_ISN, 47, "syn_new_isn")                                 \
    /* an HTTP response or opaque connection not counted:             \
     * dfaas_http_stats is full */                                    \
    X(HTTP_STATS_FULL, 48, "http_stats_full")

/* Fixed size of dfaas_reasons, independent of how many reasons exist (48 in ABI 5). */
#define DFAAS_REASONS_MAX 128

enum dfaas_reason {
#define DFAAS_REASON_ENUMERATOR(id, value, name) DFAAS_R_##id = value,
    DFAAS_REASONS(DFAAS_REASON_ENUMERATOR)
#undef DFAAS_REASON_ENUMERATOR
    /* One past the last value (values are contiguous): the number of named counters. */
    DFAAS_R__COUNT
};
DFAAS_STATIC_ASSERT(DFAAS_R__COUNT <= DFAAS_REASONS_MAX,
                    "reasons exceed DFAAS_REASONS_MAX: raising it is an ABI change");

/* ---- maps ---------------------------------------------------------------------------------- */

/* dfaas_config (ARRAY, 1 entry): node-wide settings written by the loader. */
struct dfaas_config {
    __u32 abi_version;
    __u32 node_addr;    /* this node's address (function ports live here) */
    __u32 gateway_addr; /* local gateway (DNAT target) */
    __u16 gateway_port;
    __u8 reject_mode;  /* enum dfaas_reject_mode */
    __u8 forward_mode; /* enum dfaas_forward_mode */
    __u32 ifindex;     /* device the programs are attached to */
    __u16 mtu;         /* path MTU towards peers; MSS is clamped to mtu - 60 when forwarding */
    __u16 pad0;
    __u32 syn_guard_rate; /* new connections/s above which rejected SYNs are not tracked; 0 = off */
    __u32 flags;          /* DFAAS_CFG_F_* */
    __u64 ct_timeout_syn_ns;
    __u64 ct_timeout_established_ns;
    __u64 ct_timeout_closing_ns;
    __u64 attached_unix_ns; /* wall-clock time of the first attach (status) */
    __u64 hash_seed;        /* mixes the hash behind the client ports lib/ct.h remaps to */
    /* Forwarded-in connections/s per (function, peer) when the policy names no limit_in for the
     * peer (or the function has no policy): a peer cannot push unlimited work onto this node by
     * default. DFAAS_UNLIMITED turns the default off. */
    __u32 default_limit_in;
    __u32 pad1;
};

enum dfaas_reject_mode {
    DFAAS_REJECT_RST = 0,
    DFAAS_REJECT_DROP = 1,
};

enum dfaas_forward_mode {
    DFAAS_FORWARD_ENCAP = 0,
};

#define DFAAS_CFG_F_ENABLED (1u << 0) /* steering on; off = everything passes */
/* HTTP responses and latencies not recorded (dfaas_http_stats stays as it is); requests are still
 * counted. Off by default: a bit old loaders never set keeps the recording on. */
#define DFAAS_CFG_F_NO_HTTP_STATS (1u << 1)

/* dfaas_services (HASH): (address, port) -> function. Holds this node's function ports and those
 * of peers, because forwarded-in packets still carry the forwarding node's address and port. */
struct dfaas_service_key {
    __u32 addr;
    __u16 port;
    __u16 pad;
};

struct dfaas_service {
    __u32 function_id;
    __u32 flags; /* DFAAS_SVC_F_* */
};
#define DFAAS_SVC_F_LOCAL (1u << 0) /* a function port of this node (user traffic arrives here) */

/* dfaas_functions (ARRAY, DFAAS_MAX_FUNCTIONS): function id -> name, so bpftool and
 * `dfaasctl dp` show names without the agent. */
struct dfaas_function {
    char name[DFAAS_FUNCTION_NAME_LEN];
    __u32 in_use;
    __u32 flags; /* DFAAS_FN_F_* */
};
/* The function has a function port on this node (a local service): peers may forward its
 * connections here. Kept by the control library with the services. */
#define DFAAS_FN_F_SERVED_LOCALLY (1u << 0)

/* One slot of a selection table. */
struct dfaas_slot {
    __u8 action; /* enum dfaas_action */
    __u8 peer;   /* peer index when action == DFAAS_ACTION_PEER */
};

/*
 * dfaas_policies (ARRAY, DFAAS_MAX_FUNCTIONS, spin-locked): the compiled policy of a function.
 * The agent writes a whole value with BPF_F_LOCK; the program reads the fields it needs under
 * the same lock, so no packet ever sees half of an old and half of a new policy.
 */
struct dfaas_policy {
    struct bpf_spin_lock lock;
    __u32 version;        /* increases with every write (tests, debugging) */
    __u32 local_cap;      /* local new connections per second; 0 = no cap */
    __u32 flags;          /* DFAAS_POL_F_* */
    __u32 peers_named;    /* bit i: peer i is a target of the weighted table (weight may be 0) */
    __u32 overflow_named; /* bit i: peer i is an overflow target (weight may be 0) */
    __u8 weight_local;    /* the weights the tables were compiled from (for readers) */
    __u8 weight_reject;
    __u8 overflow_reject;
    __u8 pad0;
    __u8 weight_peer[DFAAS_MAX_PEERS];
    __u8 overflow_peer[DFAAS_MAX_PEERS];
    __u32
        limit_in[DFAAS_MAX_PEERS]; /* forwarded-in cap per peer (conn/s); DFAAS_UNLIMITED = none */
    struct dfaas_slot table[DFAAS_SELECT_SLOTS];
    struct dfaas_slot overflow[DFAAS_SELECT_SLOTS];
    /* Slots of one cycle in table / overflow (1..DFAAS_SELECT_SLOTS). The slots after the cycle
     * repeat it, so 0 (a value this ABI's control library never writes) reads as all
     * DFAAS_SELECT_SLOTS slots and still follows the weights. */
    __u16 table_len;
    __u16 overflow_len;
};
#define DFAAS_POL_F_INSTALLED (1u << 0)

/* dfaas_select_seq (ARRAY, DFAAS_MAX_FUNCTIONS, not pinned): per function, how many picks each
 * table has given; a pick takes slot seq % length and adds one atomically. */
struct dfaas_select_seq {
    __u64 weighted;
    __u64 overflow;
};

/* dfaas_peers (HASH): peer address -> index (who may send forwarded-in traffic). */
struct dfaas_peer {
    __u32 index;
    __u32 flags;
};

/* dfaas_peer_addrs (ARRAY, DFAAS_MAX_PEERS): index -> address (0 = free). */
struct dfaas_peer_addr {
    __u32 addr;
    __u32 flags;
};

/* dfaas_peer_stats (PERCPU_ARRAY, DFAAS_MAX_PEERS): health signals for fast failure detection. */
struct dfaas_peer_stats {
    __u64 syn_forwarded;   /* new connections encapsulated towards the peer */
    __u64 synack_returned; /* SYN-ACKs of those connections that came back */
    __u64 rst_returned;    /* RSTs that came back (peer alive but refusing) */
    __u64 fwd_in_conns;    /* connections the peer forwarded to us */
};

/* dfaas_stats (PERCPU_ARRAY, DFAAS_MAX_FUNCTIONS * DFAAS_STAT_PATHS). */
struct dfaas_path_stats {
    __u64 connections;
    __u64 packets;  /* both directions */
    __u64 bytes;    /* both directions, L3 length */
    __u64 requests; /* HTTP requests (client segments starting with a method token) */
};

/* dfaas_http_stats (PERCPU_HASH, BPF_F_NO_PREALLOC, DFAAS_HTTP_STATS_ENTRIES): per function and
 * route, HTTP/1.x responses by status and request latencies in a log2 histogram. Key: the
 * dfaas_stats index, function * DFAAS_STAT_PATHS + path (LOCAL, FORWARDED_IN or PEER_BASE + peer).
 * An entry is created at a route's first response; when the map is full the response is counted
 * as reason http_stats_full only. Latency: from the request's first segment to the response's
 * first segment, as this node sees them (LOCAL and FORWARDED_IN: the gateway's time plus the
 * stack; PEER: the round trip to the peer and its service time). */
#define DFAAS_HTTP_STATS_ENTRIES 1024
/* Bucket i counts latencies below DFAAS_HTTP_BUCKET_BASE_US << i microseconds (and at or above
 * the previous bound); the last bucket counts everything above (+Inf). 8 us .. 33.5 s. */
#define DFAAS_HTTP_BUCKET_BASE_US 8
#define DFAAS_HTTP_BUCKETS 24
enum dfaas_http_code {
    DFAAS_HTTP_CODE_200 = 0,
    DFAAS_HTTP_CODE_404 = 1,
    DFAAS_HTTP_CODE_429 = 2,
    DFAAS_HTTP_CODE_500 = 3,
    DFAAS_HTTP_CODE_502 = 4,
    DFAAS_HTTP_CODE_503 = 5,
    DFAAS_HTTP_CODE_504 = 6,
    DFAAS_HTTP_CODE_OTHER_1XX = 7, /* interim: 100 Continue and the like (not a final response) */
    DFAAS_HTTP_CODE_OTHER_2XX = 8,
    DFAAS_HTTP_CODE_OTHER_3XX = 9,
    DFAAS_HTTP_CODE_OTHER_4XX = 10,
    DFAAS_HTTP_CODE_OTHER_5XX = 11,
    DFAAS_HTTP_CODE_MALFORMED = 12, /* "HTTP/1." without a three-digit status */
    DFAAS_HTTP_CODES = 13,
};
struct dfaas_http_stats {
    __u64 buckets[DFAAS_HTTP_BUCKETS]; /* timed responses by latency (not cumulative) */
    __u64 latency_sum_ns;              /* of the timed responses */
    __u64 codes[DFAAS_HTTP_CODES];     /* every response, by status */
    __u64 untimed;                     /* final responses not timed (pipelined requests) */
    __u64 opaque_connections;          /* connections whose payload is not HTTP/1.x */
};

/* dfaas_fwd_in_stats (PERCPU_ARRAY, DFAAS_MAX_FUNCTIONS * DFAAS_MAX_PEERS): forwarded-in per
 * (function, peer), for LimitIn accounting. */
struct dfaas_fwd_in_stats {
    __u64 accepted;
    __u64 rejected;
};

/* dfaas_reasons (PERCPU_ARRAY, DFAAS_REASONS_MAX): __u64 counters, index enum dfaas_reason. */

/* Sliding one-second rate window (like HAProxy's http_req_rate(1s)): estimate =
 * prev * (1 s - elapsed) / 1 s + cur. Kept in maps of their own so policy writes never reset it.
 * dfaas_rate_local (ARRAY, DFAAS_MAX_FUNCTIONS), dfaas_rate_fwd_in (ARRAY, FUNCTIONS * PEERS),
 * dfaas_rate_syn (ARRAY, 1) for the SYN-flood guard. */
struct dfaas_rate {
    struct bpf_spin_lock lock;
    __u32 current;
    __u32 previous;
    __u32 pad;
    __u64 window_start_ns;
};

/* dfaas_ct (LRU_HASH): established connections; dfaas_ct_half_open (LRU_HASH): connections whose
 * handshake is not confirmed yet. Same key and value in both. The key is the tuple as the client
 * sent it, on every path (a forwarded-in connection: the inner tuple, towards the forwarder's
 * function address). */
struct dfaas_ct_key {
    __u32 client_addr;
    __u32 service_addr; /* the function address the client called */
    __u16 client_port;  /* the client's own port */
    __u16 service_port; /* the function port */
};

/* dfaas_ct_gw (LRU_HASH, established) and dfaas_ct_gw_half_open (LRU_HASH): the gateway-side
 * index of the connections DNATed to the local gateway (LOCAL, FORWARDED_IN). Keyed by the
 * client as the gateway sees it (address, port after the SNAT of lib/ct.h); the value is the
 * connection's struct dfaas_ct_key. One entry per gateway socket tuple: that is what makes
 * the gateway-side tuple unique. */
struct dfaas_ct_gw_key {
    __u32 client_addr;
    __u16 client_port; /* the port the gateway sees (the client's own unless remapped) */
    __u16 pad;
};

/* dfaas_ct_ports (ARRAY, 1 element): one bit per destination port (indexed by the port's
 * network-order value) on which this node has tracked a user connection. Ingress looks
 * conntrack up before the services map only for those ports; a bit is set at a user SYN and
 * never cleared (a port left set costs unrelated packets on it one hash miss). */
#define DFAAS_CT_PORT_WORDS (65536 / 64)
struct dfaas_ct_ports {
    __u64 bits[DFAAS_CT_PORT_WORDS];
};

/* Client ports tried at the gateway for a new connection (the client's own first, then ports
 * derived from the tuple's hash) before the connection counts as nat_ports_exhausted. */
#define DFAAS_NAT_PROBES 8

/* Ethernet addresses to put on a packet this node sends for a connection. */
struct dfaas_macs {
    __u8 dst[6];
    __u8 src[6];
};

struct dfaas_ct_entry {
    __u64 created_ns;   /* dfaas_now() */
    __u64 last_seen_ns; /* refreshed at most every DFAAS_CT_REFRESH_NS, by either direction */
    __u32 peer_addr;    /* FORWARD: target peer; FORWARDED_IN: forwarding node */
    __u32 service_addr; /* the function address:port the client called (restored at egress) */
    __u16 service_port;
    __u16 function_id;
    __u8 path;  /* enum dfaas_ct_path */
    __u8 state; /* enum dfaas_tcp_state */
    __u8 peer_index;
    __u8 flags; /* DFAAS_CT_F_* */
    /* Next hops remembered per connection, so established packets need no FIB lookup:
     * towards the peer (FORWARD: from the FIB at the SYN, or learned from the peer's first
     * reply; FORWARDED_IN: the forwarder's packet came from there), and towards the client
     * (FORWARD: the client's SYN came from there). */
    struct dfaas_macs peer_macs;
    union {
        struct dfaas_macs client_macs; /* FORWARD */
        /* LOCAL, FORWARDED_IN: the client's port as the gateway sees it (SNAT when it differs
         * from the key's client_port); the key of its dfaas_ct_gw index entry. */
        __u16 gateway_port;
    };
    /* Sequence number of the last client segment counted as an HTTP request: a retransmitted
     * request (same seq) is not counted again. */
    __u32 last_request_seq;
    /* Upper 16 bits of the highest sequence number (seq + length) seen from each side: the
     * coarse send window that RST and FIN must fall into (see ct_in_window). 64 KiB units keep
     * the entry at 64 bytes and the fast path to a write per 64 KiB of data. server_seq_hi is
     * valid once DFAAS_CT_F_SERVER_SEQ is set. */
    __u16 client_seq_hi;
    __u16 server_seq_hi;
    /* HTTP/1.x request timing (lib/http.h). request_start_us: bpf_ktime_get_ns() >> 10 of the
     * oldest unanswered request, truncated to 32 bits (a latency is a modular difference: exact
     * below 73 minutes). http_pending: requests seen minus final responses seen, saturating. */
    __u32 request_start_us;
    __u8 http_pending;
    __u8 http_flags; /* DFAAS_CT_HTTP_* */
    __u16 pad_http;
};
/* A request arrived while another was unanswered (pipelining): responses are counted, not timed,
 * until http_pending is back to 0. */
#define DFAAS_CT_HTTP_PIPELINED (1u << 0)
/* The client's first payload segment was not an HTTP/1.x request (TLS, HTTP/2, anything else):
 * the connection was counted once as opaque and is not parsed further. */
#define DFAAS_CT_HTTP_OPAQUE (1u << 1)
/* The client's first payload segment has been classified (HTTP or opaque). */
#define DFAAS_CT_HTTP_SEEN (1u << 2)
#define DFAAS_CT_F_CLIENT_FIN (1u << 0)
#define DFAAS_CT_F_SERVER_FIN (1u << 1)
#define DFAAS_CT_F_SEEN_REPLY (1u << 2)
#define DFAAS_CT_F_PEER_MACS (1u << 3)
#define DFAAS_CT_F_CLIENT_MACS (1u << 4)
#define DFAAS_CT_F_SERVER_SEQ (1u << 5) /* server_seq_hi holds the server's SYN-ACK (or later) */
/* Admission still owed: the connection counts in its function's local-cap window (CHARGE_LOCAL)
 * or its (function, peer) limit_in window (CHARGE_FWD_IN) when its handshake is confirmed, not at
 * the SYN, so spoofed SYNs never spend a cap (lib/ct.h, ct_confirm). */
#define DFAAS_CT_F_CHARGE_LOCAL (1u << 6)
#define DFAAS_CT_F_CHARGE_FWD_IN (1u << 7)

#define DFAAS_CT_REFRESH_NS 1000000000ull

/* ---- monitor events (`dfaasctl monitor`) ---------------------------------------------------- */

/* dfaas_events (RINGBUF): struct dfaas_event records for `dfaasctl monitor`. Bounded: when the
 * monitor reads too slowly, new events are counted (event_ring_full) and lost, never queued. */
#define DFAAS_EVENTS_RING_BYTES (256 * 1024)

enum dfaas_event_type {
    DFAAS_EVENT_NEW_CONNECTION = 1, /* a user SYN selected a target: decision and reason */
    DFAAS_EVENT_REJECT = 2,         /* a user connection rejected: reason rst_sent | drop_reject */
    DFAAS_EVENT_FORWARD_IN = 3,     /* a SYN a peer forwarded: accepted (LOCAL) or refused */
};
/* Bit of dfaas_event_config.type_mask for an event type. */
#define DFAAS_EVENT_BIT(type) (1u << (type))

/* One event. `reason` is a DFAAS_R_* value: for a new connection why the decision was taken
 * (syn_new: the policy's weighted pick; local_cap_overflow: the pick was local and the local cap
 * was reached; ct_collision: the pick was local and the client tuple was in use towards the
 * gateway); for a reject and a refused forwarded-in SYN, what was done (rst_sent, drop_reject). */
struct dfaas_event {
    __u64 time_ns;      /* dfaas_now(): CLOCK_MONOTONIC_COARSE */
    __u32 client_addr;  /* the connection's client */
    __u32 service_addr; /* the function address it called */
    __u32 peer_addr;    /* PEER: the target; FORWARD_IN: the forwarding node; else 0 */
    __u32 reason;       /* enum dfaas_reason */
    __u16 client_port;
    __u16 service_port;
    __u16 function_id;
    __u8 type;     /* enum dfaas_event_type */
    __u8 decision; /* enum dfaas_action */
    __u8 peer_index;
    __u8 pad[7];
};

/* dfaas_event_config (ARRAY, 1 entry): written by `dfaasctl monitor`. Events are emitted only
 * while dfaas_now() < expires_ns: the monitor renews this lease every second and zeroes it on
 * exit, so a monitor killed with SIGKILL stops the emission within DFAAS_EVENT_LEASE_NS. */
struct dfaas_event_config {
    __u64 expires_ns;   /* CLOCK_MONOTONIC_COARSE; 0 = off (what an unwritten map holds) */
    __u32 sample_every; /* keep the connections whose tuple hash is 0 mod N; 0 and 1 = all */
    __u32 rate_per_cpu; /* token bucket per CPU: events per second, burst of one second; 0 = off */
    __u32 type_mask;    /* DFAAS_EVENT_BIT(type) of the types to emit; 0 = all */
    __u32 owner_pid;    /* the monitor holding the lease (a second monitor is refused) */
};
#define DFAAS_EVENT_LEASE_NS (5ull * 1000000000ull)

/* dfaas_event_state (PERCPU_ARRAY, 1 entry, not pinned): each CPU's token bucket. */
struct dfaas_event_state {
    __u64 tokens;         /* in nano-events: one event costs 10^9 */
    __u64 last_refill_ns; /* dfaas_now() of the last refill */
};

#endif /* DFAAS_ABI_H */
