/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Connection tracking (v2): two LRU tables with the same key and value, one entry per connection,
 * keyed by the tuple as the client sent it (client addr:port -> function addr:port) on every path:
 * local, forward, reject, and forwarded-in (the inner tuple, towards the forwarder's function
 * address). Ingress finds every tracked connection with ONE lookup of that key, before the
 * services map, for destination ports in dfaas_ct_ports (a bit set at a user SYN): an unrelated
 * packet costs an array read and a bit test.
 *
 * Egress sees the gateway's replies (gateway -> client addr:port as the gateway knows it) and
 * reaches the entry through the gateway-side index dfaas_ct_gw, keyed by (client addr, client
 * port at the gateway), whose value is the connection's key. The entry says what egress restores:
 * the function addr:port the client called and the client's own port (the key's).
 *
 * No tuple collisions. Two live connections of one client tuple to two function ports (this
 * node's own, or a peer's that the peer forwards here) would meet at the gateway as one socket
 * tuple. A new LOCAL or FORWARDED_IN connection therefore claims its gateway-side tuple in the
 * index (BPF_NOEXIST): the client's own port first, then DFAAS_NAT_PROBES - 1 ports derived from
 * the tuple's hash. An index entry whose connection is gone, finished, or no longer on that port
 * is stale and taken over (nat_port_reclaimed). A connection given another port is counted
 * (ct_collision) and SNATed at ingress (source port only: the client's address reaches the
 * gateway unchanged); egress restores the port. No free port after the probes is a policy: counted
 * (nat_ports_exhausted), then the user connection goes to its overflow peer or is refused, a
 * forwarded-in one is refused.
 *
 * SYN floods. A SYN creates its entry in dfaas_ct_half_open only. The entry moves to dfaas_ct
 * (established) when the client's ACK acknowledges the server's SYN-ACK, which this node saw
 * (egress for LOCAL/FORWARDED_IN, the peer's encapsulated reply for FORWARD): a sender with a
 * spoofed address never sees the SYN-ACK, so it can fill and churn only the half-open table,
 * whose LRU evicts other half-open entries, never an established connection. Lookups try the
 * established table first, so established packets cost what they did with a single table. The
 * index is split the same way (dfaas_ct_gw_half_open at the SYN, dfaas_ct_gw at promotion): a
 * flood never evicts the index entry of an established connection.
 *
 * Admission caps (local_cap, limit_in) count confirmed connections, not SYNs: a SYN is admitted
 * while the cap's window is below the cap and marked DFAAS_CT_F_CHARGE_*; the window is charged
 * when the entry is promoted (ct_charge_admission), once per connection. So a flood of spoofed
 * SYNs spends no capacity and a real client's SYN is still admitted under it. The price is an
 * overshoot bounded by the handshakes in flight: SYNs admitted while the window was below the
 * cap whose ACKs arrive after it reached the cap still count (and are served). With real clients
 * that is at most (their SYN rate) x (one handshake time: RTT + the server's SYN-ACK delay) per
 * window, e.g. 1 connection at 1,000 SYN/s and 1 ms; a client with a real address that holds back
 * its ACKs can add at most its own unacknowledged handshakes, which the half-open table keeps for
 * ct_timeout_syn (10 s) and at most DFAAS_DEFAULT_CT_HALF_OPEN_ENTRIES of.
 *
 * RST and FIN end (or half-close) an entry only when their sequence number falls into the
 * sending side's window as this node saw it (ct_in_window); others are counted and change
 * nothing, so a blind attacker cannot tear down the path of a connection it does not see.
 */
#ifndef DFAAS_BPF_CT_H
#define DFAAS_BPF_CT_H

#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/stats.h"
#include "lib/ratelimit.h"
#include "lib/select.h"

/* Sequence numbers are tracked in 64 KiB units (the upper 16 bits, see struct dfaas_ct_entry).
 * A RST or FIN must fall into the unit of the highest sequence number seen from its sender, or
 * the unit before or after it: a 192 KiB window, so a blind guess hits one time in ~21800. The
 * unit after covers data this node has not seen yet only by rounding; the unit before covers an
 * endpoint that answers with the sequence number its peer last acknowledged. */
#define DFAAS_SEQ_UNIT_SHIFT 16

DFAAS_INLINE void ct_key_init(struct dfaas_ct_key *key, __u32 client_addr, __u32 service_addr,
                              __u16 client_port, __u16 service_port) {
    key->client_addr = client_addr;
    key->service_addr = service_addr;
    key->client_port = client_port;
    key->service_port = service_port;
}

/* Key of a client's packet (pkt src = client) as sent, towards the function address. */
DFAAS_INLINE void ct_key_client(struct dfaas_ct_key *key, const struct dfaas_pkt *pkt) {
    ct_key_init(key, pkt->saddr, pkt->daddr, pkt->sport, pkt->dport);
}

DFAAS_INLINE void ct_gw_key_init(struct dfaas_ct_gw_key *key, __u32 client_addr, __u16 port) {
    key->client_addr = client_addr;
    key->client_port = port;
    key->pad = 0;
}

/* Whether user connections were ever tracked towards this destination port (the filter in
 * front of the conntrack lookup). */
DFAAS_INLINE int ct_port_tracked(__u16 port) {
    __u32 zero = 0;
    struct dfaas_ct_ports *ports = bpf_map_lookup_elem(&dfaas_ct_ports, &zero);
    return ports && ((ports->bits[(port >> 6) & (DFAAS_CT_PORT_WORDS - 1)] >> (port & 63)) & 1);
}

/* Marks the port at a user SYN (written only when the bit is not set yet). */
DFAAS_INLINE void ct_port_track(__u16 port) {
    __u32 zero = 0;
    struct dfaas_ct_ports *ports = bpf_map_lookup_elem(&dfaas_ct_ports, &zero);
    __u64 bit = 1ull << (port & 63);
    __u64 *word;

    if (!ports) return;
    word = &ports->bits[(port >> 6) & (DFAAS_CT_PORT_WORDS - 1)];
    if (!(*word & bit)) __sync_fetch_and_or(word, bit);
}

DFAAS_INLINE int ct_path_uses_gateway(__u8 path) {
    return path == DFAAS_PATH_LOCAL || path == DFAAS_PATH_FORWARDED_IN;
}

DFAAS_INLINE struct dfaas_ct_entry *ct_lookup(const struct dfaas_ct_key *key) {
    return bpf_map_lookup_elem(&dfaas_ct, key);
}

DFAAS_INLINE struct dfaas_ct_entry *ct_lookup_half_open(const struct dfaas_ct_key *key) {
    return bpf_map_lookup_elem(&dfaas_ct_half_open, key);
}

/* New connections start half-open (see the SYN-flood note at the top). */
DFAAS_INLINE int ct_insert_half_open(const struct dfaas_ct_key *key,
                                     const struct dfaas_ct_entry *entry) {
    return bpf_map_update_elem(&dfaas_ct_half_open, key, entry, BPF_ANY);
}

DFAAS_INLINE int ct_key_equal(const struct dfaas_ct_key *a, const struct dfaas_ct_key *b) {
    return a->client_addr == b->client_addr && a->service_addr == b->service_addr &&
           a->client_port == b->client_port && a->service_port == b->service_port;
}

/* Deletes the entry `ct` found under `key` in the table it was found in, and its gateway-side
 * index entry when that still names this connection. */
DFAAS_INLINE void ct_delete(const struct dfaas_ct_key *key, struct dfaas_ct_entry *ct,
                            int half_open) {
    struct dfaas_ct_gw_key gw_key;
    struct dfaas_ct_key *named;
    void *index = half_open ? (void *)&dfaas_ct_gw_half_open : (void *)&dfaas_ct_gw;

    if (ct_path_uses_gateway(ct->path)) {
        ct_gw_key_init(&gw_key, key->client_addr, ct->gateway_port);
        named = bpf_map_lookup_elem(index, &gw_key);
        if (named && ct_key_equal(named, key)) bpf_map_delete_elem(index, &gw_key);
    }
    bpf_map_delete_elem(half_open ? (void *)&dfaas_ct_half_open : (void *)&dfaas_ct, key);
}

/* Refreshes last_seen at most once per DFAAS_CT_REFRESH_NS: a write per packet would bounce the
 * entry's cache line between CPUs for a timestamp the collector only needs to the second. */
DFAAS_INLINE void ct_touch(struct dfaas_ct_entry *ct, __u64 now) {
    if (now - ct->last_seen_ns > DFAAS_CT_REFRESH_NS) ct->last_seen_ns = now;
}

/* A SYN for a tuple whose tracked connection already ended starts a new connection. */
DFAAS_INLINE int ct_is_finished(const struct dfaas_ct_entry *ct) {
    return ct->state >= DFAAS_TCP_CLOSED ||
           (ct->flags & (DFAAS_CT_F_CLIENT_FIN | DFAAS_CT_F_SERVER_FIN)) ==
               (DFAAS_CT_F_CLIENT_FIN | DFAAS_CT_F_SERVER_FIN);
}

/* Sequence number just after the segment (host order): SYN and FIN take one number each. */
DFAAS_INLINE __u32 seq_after_segment(const struct dfaas_pkt *pkt) {
    __u32 end = bpf_ntohl(pkt->seq) + pkt->payload_len;
    if (pkt->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_FIN)) end += 1;
    return end;
}

DFAAS_INLINE __u16 seq_unit(__u32 seq_host) {
    return (__u16)(seq_host >> DFAAS_SEQ_UNIT_SHIFT);
}

/* Moves a side's highest unit forward (serial-number arithmetic, RFC 1982). Writes only when
 * the segment crosses into a new 64 KiB unit: the fast path stays read-only otherwise. */
DFAAS_INLINE void seq_advance(__u16 *highest, __u32 seq_end) {
    __u16 unit = seq_unit(seq_end);
    if ((__s16)(unit - *highest) > 0) *highest = unit;
}

/* True when `seq` (host order) lies in the unit before, at or after `highest`. */
DFAAS_INLINE int ct_in_window(__u16 highest, __u32 seq) {
    return (__u16)(seq_unit(seq) - highest + 1) <= 2;
}

/* Whether a SYN starts a new connection on a tuple whose entry is still half-open: its sequence
 * number is not the one the entry started with (a retransmission repeats it; Linux's next ISN
 * for the same tuple is at least 238 units away one second later). The client gave up on that
 * attempt, e.g. its connect timed out against a peer that died, and its new connection must not
 * follow the old path. Established entries keep their path whatever SYN comes (as netfilter
 * ignores SYNs in ESTABLISHED): otherwise a blind spoofer who guesses a client port could
 * re-steer a live connection. */
DFAAS_INLINE int ct_syn_restarts(const struct dfaas_ct_entry *ct, const struct dfaas_pkt *pkt,
                                 int half_open) {
    if (!half_open || ct->state >= DFAAS_TCP_ESTABLISHED ||
        ct_in_window(ct->client_seq_hi, seq_after_segment(pkt)))
        return 0;
    count_reason(DFAAS_R_SYN_NEW_ISN);
    return 1;
}

/* State transitions driven by the client's packets. */
DFAAS_INLINE void ct_client_packet(struct dfaas_ct_entry *ct, const struct dfaas_pkt *pkt) {
    __u8 flags = pkt->tcp_flags;

    if (unlikely(flags & (TCP_FLAG_RST | TCP_FLAG_FIN))) {
        if (!ct_in_window(ct->client_seq_hi, bpf_ntohl(pkt->seq))) {
            count_reason(DFAAS_R_CT_OUT_OF_WINDOW);
            return;
        }
        if (flags & TCP_FLAG_RST) {
            ct->state = DFAAS_TCP_CLOSED;
            return;
        }
        ct->flags |= DFAAS_CT_F_CLIENT_FIN;
        ct->state = (ct->flags & DFAAS_CT_F_SERVER_FIN) ? DFAAS_TCP_CLOSED : DFAAS_TCP_CLOSING;
        seq_advance(&ct->client_seq_hi, seq_after_segment(pkt));
        return;
    }
    seq_advance(&ct->client_seq_hi, seq_after_segment(pkt));
    if ((flags & (TCP_FLAG_ACK | TCP_FLAG_SYN)) == TCP_FLAG_ACK &&
        ct->state < DFAAS_TCP_ESTABLISHED)
        ct->state = DFAAS_TCP_ESTABLISHED;
}

/* Whether a server RST belongs to the connection: in the server's window once its SYN-ACK was
 * seen; before that (a refused SYN: RST|ACK, seq 0) its ACK must acknowledge the client's SYN. */
DFAAS_INLINE int server_rst_in_window(const struct dfaas_ct_entry *ct,
                                      const struct dfaas_pkt *pkt) {
    if (ct->flags & DFAAS_CT_F_SERVER_SEQ)
        return ct_in_window(ct->server_seq_hi, bpf_ntohl(pkt->seq));
    return (pkt->tcp_flags & TCP_FLAG_ACK) && ct_in_window(ct->client_seq_hi, bpf_ntohl(pkt->ack));
}

/* State transitions driven by the server's packets. */
DFAAS_INLINE void ct_server_packet(struct dfaas_ct_entry *ct, const struct dfaas_pkt *pkt) {
    __u8 flags = pkt->tcp_flags;

    if (unlikely(flags & (TCP_FLAG_RST | TCP_FLAG_FIN | TCP_FLAG_SYN))) {
        if (flags & TCP_FLAG_RST) {
            if (!server_rst_in_window(ct, pkt)) {
                count_reason(DFAAS_R_CT_OUT_OF_WINDOW);
                return;
            }
            ct->flags |= DFAAS_CT_F_SEEN_REPLY;
            ct->state = DFAAS_TCP_CLOSED;
            return;
        }
        if (flags & TCP_FLAG_SYN) {
            /* The SYN-ACK starts the server's sequence space (a retransmission repeats it). */
            if (!(flags & TCP_FLAG_ACK)) return;
            ct->server_seq_hi = seq_unit(seq_after_segment(pkt));
            ct->flags |= DFAAS_CT_F_SERVER_SEQ | DFAAS_CT_F_SEEN_REPLY;
            if (ct->state == DFAAS_TCP_SYN_SENT) ct->state = DFAAS_TCP_SYN_RECV;
            return;
        }
        /* FIN: without the server's SYN-ACK there is no window to judge it by. */
        if (!(ct->flags & DFAAS_CT_F_SERVER_SEQ) ||
            !ct_in_window(ct->server_seq_hi, bpf_ntohl(pkt->seq))) {
            count_reason(DFAAS_R_CT_OUT_OF_WINDOW);
            return;
        }
        ct->flags |= DFAAS_CT_F_SERVER_FIN | DFAAS_CT_F_SEEN_REPLY;
        ct->state = (ct->flags & DFAAS_CT_F_CLIENT_FIN) ? DFAAS_TCP_CLOSED : DFAAS_TCP_CLOSING;
        seq_advance(&ct->server_seq_hi, seq_after_segment(pkt));
        return;
    }
    if (!(ct->flags & DFAAS_CT_F_SEEN_REPLY)) ct->flags |= DFAAS_CT_F_SEEN_REPLY;
    if (ct->flags & DFAAS_CT_F_SERVER_SEQ) seq_advance(&ct->server_seq_hi, seq_after_segment(pkt));
}

/* Charges the admission the connection still owes (see the note at the top): called once its
 * handshake is confirmed, and the flags are cleared so a repeated confirmation never counts it
 * twice. The windows are those the SYN was checked against: the function's local cap and, for a
 * forwarded-in connection, the (function, forwarding peer) limit_in. Out of line (a static
 * function: it may take the map value) so its frame stays off the deepest call chain, whose
 * stack is at the verifier's 512-byte limit. */
static __attribute__((noinline)) void ct_charge_admission(struct dfaas_ct_entry *ct, __u64 now) {
    __u32 function_id = ct->function_id & (DFAAS_MAX_FUNCTIONS - 1);
    __u32 idx = function_id * DFAAS_MAX_PEERS + (ct->peer_index & (DFAAS_MAX_PEERS - 1));
    struct dfaas_rate *window;

    if (likely(!(ct->flags & (DFAAS_CT_F_CHARGE_LOCAL | DFAAS_CT_F_CHARGE_FWD_IN)))) return;
    if (ct->flags & DFAAS_CT_F_CHARGE_LOCAL) {
        window = bpf_map_lookup_elem(&dfaas_rate_local, &function_id);
        if (window) rate_count(window, now);
    }
    if (ct->flags & DFAAS_CT_F_CHARGE_FWD_IN) {
        window = bpf_map_lookup_elem(&dfaas_rate_fwd_in, &idx);
        if (window) rate_count(window, now);
    }
    ct->flags &= ~(DFAAS_CT_F_CHARGE_LOCAL | DFAAS_CT_F_CHARGE_FWD_IN);
}

/*
 * Called with a client packet of a half-open connection (found under `key` in the half-open
 * table) after its state was updated. When the packet is the client's ACK of the server's
 * SYN-ACK, the entry moves to the established table. The ACK must acknowledge the SYN-ACK's
 * 64 KiB unit (or the next): the server's ISN is random and never seen by a sender with a
 * spoofed address. Returns the entry to use for the rest of this packet: the established copy,
 * or the half-open one when nothing moved. (The half-open element is freed at once on delete,
 * so it must not be read after the move.)
 */
DFAAS_INLINE struct dfaas_ct_entry *ct_confirm(const struct dfaas_ct_key *key,
                                               struct dfaas_ct_entry *half,
                                               const struct dfaas_pkt *pkt) {
    struct dfaas_ct_gw_key gw_key;
    struct dfaas_ct_entry *established;

    if ((pkt->tcp_flags & (TCP_FLAG_ACK | TCP_FLAG_SYN | TCP_FLAG_RST)) != TCP_FLAG_ACK ||
        half->path == DFAAS_PATH_REJECT)
        return half;
    if (!(half->flags & DFAAS_CT_F_SERVER_SEQ) ||
        (__u16)(seq_unit(bpf_ntohl(pkt->ack)) - half->server_seq_hi) > 1) {
        count_reason(DFAAS_R_CT_ACK_UNCONFIRMED);
        return half;
    }
    /* The client proved its address: the connection is real whether or not the move below
     * succeeds, so it is charged now (and only once: the flags go with the charge). */
    ct_charge_admission(half, dfaas_now());
    if (bpf_map_update_elem(&dfaas_ct, key, half, BPF_ANY)) {
        count_reason(DFAAS_R_CT_PROMOTE_FAILED);
        return half;
    }
    established = bpf_map_lookup_elem(&dfaas_ct, key);
    if (!established) return half; /* evicted at once: the half-open entry still serves */
    if (ct_path_uses_gateway(established->path)) {
        /* The index entry moves with the connection, out of the flood's reach. */
        ct_gw_key_init(&gw_key, key->client_addr, established->gateway_port);
        if (bpf_map_update_elem(&dfaas_ct_gw, &gw_key, key, BPF_ANY)) {
            count_reason(DFAAS_R_CT_PROMOTE_FAILED);
            bpf_map_delete_elem(&dfaas_ct, key);
            return half;
        }
        bpf_map_delete_elem(&dfaas_ct_gw_half_open, &gw_key);
    }
    bpf_map_delete_elem(&dfaas_ct_half_open, key);
    count_reason(DFAAS_R_CT_PROMOTED);
    return established;
}

/* Scratch space for a new entry (see struct dfaas_ct_scratch). */
DFAAS_INLINE struct dfaas_ct_scratch *ct_scratch(void) {
    __u32 zero = 0;
    return bpf_map_lookup_elem(&dfaas_ct_scratch, &zero);
}

DFAAS_INLINE void ct_entry_init(struct dfaas_ct_entry *e, __u8 path, __u32 function_id,
                                __u32 peer_addr, __u8 peer_index, const struct dfaas_pkt *pkt,
                                __u64 now) {
    __builtin_memset(e, 0, sizeof(*e));
    e->created_ns = now;
    e->last_seen_ns = now;
    e->peer_addr = peer_addr;
    e->service_addr = pkt->daddr;
    e->service_port = pkt->dport;
    e->function_id = function_id;
    e->path = path;
    e->state = DFAAS_TCP_SYN_SENT;
    e->peer_index = peer_index;
    e->client_seq_hi = seq_unit(seq_after_segment(pkt));
}

/* The connection an index entry names, or NULL when it is stale: the connection is gone, has
 * finished, or no longer holds `port` at the gateway (its entry was replaced). */
DFAAS_INLINE struct dfaas_ct_entry *ct_index_target(const struct dfaas_ct_key *named, __u16 port) {
    struct dfaas_ct_entry *ct = bpf_map_lookup_elem(&dfaas_ct, named);

    if (!ct) ct = bpf_map_lookup_elem(&dfaas_ct_half_open, named);
    if (!ct || !ct_path_uses_gateway(ct->path) || ct->gateway_port != port) return 0;
    return ct;
}

/* The index entry under gw_key (in `index`): held by a live connection, absent, or stale (may
 * be taken over). */
#define DFAAS_GW_HELD 0
#define DFAAS_GW_ABSENT 1
#define DFAAS_GW_STALE 2
DFAAS_INLINE int ct_gw_state(void *index, const struct dfaas_ct_gw_key *gw_key) {
    struct dfaas_ct_key *named = bpf_map_lookup_elem(index, gw_key);
    struct dfaas_ct_entry *ct;

    if (!named) return DFAAS_GW_ABSENT;
    ct = ct_index_target(named, gw_key->client_port);
    return !ct || ct_is_finished(ct) ? DFAAS_GW_STALE : DFAAS_GW_HELD;
}

/* The i-th client port tried at the gateway (network order): the client's own first, then ports
 * above 1023 spread by the tuple's hash. */
DFAAS_INLINE __u16 ct_probe_port(__u16 client_port, __u32 hash, __u32 i) {
    __u32 h;

    if (i == 0) return client_port;
    h = (hash + i) * 0x9e3779b1u;
    return bpf_htons((__u16)(1024 + (h >> 16) % (65536 - 1024)));
}

/*
 * Claims a gateway-side tuple for a new LOCAL or FORWARDED_IN connection (see the note at the
 * top): writes the half-open index entry naming `key` and returns the client port the gateway
 * will see (network order), or 0 when every probe is held by a live connection. The key is
 * taken from the packet here. Out of line: only the SYN path pays for its loop, and the key
 * stays off its callers' frames.
 */
DFAAS_SUBPROG __u32 dfaas_ct_claim_gateway_port(const struct dfaas_pkt *pkt, __u64 hash_seed) {
    struct dfaas_ct_gw_key gw_key;
    __u32 hash = 0;
    struct dfaas_ct_key k;
    struct dfaas_ct_key *key = &k;
    int established = DFAAS_GW_ABSENT;
    __u32 i;

    if (!pkt) return 0;
    ct_key_client(key, pkt);
    for (i = 0; i < DFAAS_NAT_PROBES; i++) {
        /* Hashed only when the client's own port is taken: the common SYN never pays for it. */
        if (i == 1) hash = tuple_hash(pkt, hash_seed);
        ct_gw_key_init(&gw_key, key->client_addr, ct_probe_port(key->client_port, hash, i));
        established = ct_gw_state(&dfaas_ct_gw, &gw_key);
        if (established == DFAAS_GW_HELD) continue;
        if (!bpf_map_update_elem(&dfaas_ct_gw_half_open, &gw_key, key, BPF_NOEXIST)) goto claimed;
        if (ct_gw_state(&dfaas_ct_gw_half_open, &gw_key) == DFAAS_GW_HELD) continue;
        /* Stale in the half-open index: taken over (the established one is free too). */
        if (bpf_map_update_elem(&dfaas_ct_gw_half_open, &gw_key, key, BPF_ANY)) continue;
        count_reason(DFAAS_R_NAT_PORT_RECLAIMED);
        goto claimed;
    }
    count_reason(DFAAS_R_NAT_PORTS_EXHAUSTED);
    return 0;
claimed:
    /* A stale established index entry would be found first by egress: it goes (only then: a
     * delete of an absent key costs a lookup on every SYN). */
    if (established == DFAAS_GW_STALE) {
        bpf_map_delete_elem(&dfaas_ct_gw, &gw_key);
        count_reason(DFAAS_R_NAT_PORT_RECLAIMED);
    }
    if (i) count_reason(DFAAS_R_CT_COLLISION);
    return gw_key.client_port;
}

#endif
