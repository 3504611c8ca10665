// HTTP response status and latency per (function, route) in dfaas_http_stats (bpf/lib/http.h):
// requests at ingress, responses at egress (local, forwarded-in) or at ingress from the peer
// (forward). The map is read directly here, summed over CPUs.
#include <bpf/libbpf.h>

#include <chrono>
#include <thread>

#include "harness.h"

namespace dfaas::test {
namespace {

constexpr uint32_t kPeerIsn = 7000;

class HttpStatus : public DataplaneTest {
  protected:
    static constexpr uint32_t kGatewayIsn = kHandshakeGatewayIsn;

    // The map's values of every function on `route` (one function in these tests), summed over
    // CPUs; nullopt when no entry exists for the route.
    std::optional<dfaas_http_stats> http(uint32_t route) {
        int fd = bpf_obj_get((bpffs() + "/dfaas_http_stats").c_str());
        EXPECT_GE(fd, 0) << std::strerror(errno);
        if (fd < 0) return std::nullopt;
        int cpus = libbpf_num_possible_cpus();
        std::vector<dfaas_http_stats> per_cpu(static_cast<size_t>(cpus));
        std::optional<dfaas_http_stats> sum;
        uint32_t key = 0, next = 0;
        const void *prev = nullptr;
        while (bpf_map_get_next_key(fd, prev, &next) == 0) {
            key = next;
            prev = &key;
            if (key % DFAAS_STAT_PATHS != route) continue;
            if (bpf_map_lookup_elem(fd, &key, per_cpu.data()) != 0) continue;
            if (!sum) sum = dfaas_http_stats{};
            for (const auto &v : per_cpu) {
                for (int i = 0; i < DFAAS_HTTP_BUCKETS; ++i)
                    sum->buckets[i] += v.buckets[i];
                for (int i = 0; i < DFAAS_HTTP_CODES; ++i)
                    sum->codes[i] += v.codes[i];
                sum->latency_sum_ns += v.latency_sum_ns;
                sum->untimed += v.untimed;
                sum->opaque_connections += v.opaque_connections;
            }
        }
        close(fd);
        return sum;
    }

    static uint64_t timed(const dfaas_http_stats &s) {
        uint64_t n = 0;
        for (auto b : s.buckets)
            n += b;
        return n;
    }
    static uint64_t responses(const dfaas_http_stats &s) {
        uint64_t n = 0;
        for (int i = 0; i < DFAAS_HTTP_CODES; ++i)
            if (i != DFAAS_HTTP_CODE_OTHER_1XX) n += s.codes[i];
        return n;
    }

    // A local connection with its handshake done; returns its SYN.
    TcpPacket local_connection(uint16_t client_port = 40000) {
        auto syn = user_syn(client_port);
        EXPECT_EQ(ingress(syn.frame()).retval, 0);
        complete_handshake(syn);
        return syn;
    }

    // The client's segment at `offset` bytes into its stream.
    static TcpPacket client_data(const TcpPacket &syn, uint32_t offset, const std::string &text,
                                 uint32_t server_isn = kGatewayIsn) {
        auto p = ack_of(syn, server_isn);
        p.flags = kAck | kPsh;
        p.seq = syn.seq + 1 + offset;
        p.payload.assign(text.begin(), text.end());
        return p;
    }

    // The gateway's segment at `offset` bytes into its stream, as its stack sends it.
    static TcpPacket gateway_data(const TcpPacket &syn, uint32_t offset, const std::string &text) {
        auto p = gateway_synack(syn, kGatewayIsn);
        p.flags = kAck | kPsh;
        p.seq = kGatewayIsn + 1 + offset;
        p.payload.assign(text.begin(), text.end());
        return p;
    }

    // One request and one response on a new local connection; the stats of LOCAL.
    dfaas_http_stats one_exchange(const std::string &status_line) {
        install_figlet(FunctionPolicy::all_local());
        auto syn = local_connection();
        ingress(client_data(syn, 0, kGet).frame());
        egress(gateway_data(syn, 0, status_line + "\r\nContent-Length: 0\r\n\r\n").frame());
        auto s = http(DFAAS_STAT_LOCAL);
        EXPECT_TRUE(s.has_value());
        return s.value_or(dfaas_http_stats{});
    }

    const std::string kGet = "GET /function/figlet HTTP/1.1\r\nHost: x\r\n\r\n";
};

TEST_F(HttpStatus, LocalRequestAndOkResponseAreCountedAndTimedOnce) {
    auto s = one_exchange("HTTP/1.1 200 OK");
    EXPECT_EQ(s.codes[DFAAS_HTTP_CODE_200], 1u);
    EXPECT_EQ(responses(s), 1u);
    EXPECT_EQ(timed(s), 1u);
    int buckets_used = 0;
    for (auto b : s.buckets)
        buckets_used += b != 0;
    EXPECT_EQ(buckets_used, 1);
    EXPECT_EQ(s.untimed, 0u);
    EXPECT_EQ(s.opaque_connections, 0u);
    // Whatever the delay between the two test runs, it is below a second here.
    EXPECT_LT(s.latency_sum_ns, 1'000'000'000u);
    EXPECT_EQ(reason("http_stats_full"), 0u);
    // The connection's timing state is back to idle.
    EXPECT_FALSE(http(DFAAS_STAT_FORWARDED_IN).has_value());
}

struct StatusCase {
    const char *line;
    int code;
};

TEST_F(HttpStatus, EachStatusGoesToItsCode) {
    const StatusCase cases[] = {
        {"HTTP/1.1 404 Not Found", DFAAS_HTTP_CODE_404},
        {"HTTP/1.1 429 Too Many Requests", DFAAS_HTTP_CODE_429},
        {"HTTP/1.1 500 Internal Server Error", DFAAS_HTTP_CODE_500},
        {"HTTP/1.1 502 Bad Gateway", DFAAS_HTTP_CODE_502},
        {"HTTP/1.1 503 Service Unavailable", DFAAS_HTTP_CODE_503},
        {"HTTP/1.0 504 Gateway Timeout", DFAAS_HTTP_CODE_504},
        {"HTTP/1.1 201 Created", DFAAS_HTTP_CODE_OTHER_2XX},
        {"HTTP/1.1 302 Found", DFAAS_HTTP_CODE_OTHER_3XX},
        {"HTTP/1.1 401 Unauthorized", DFAAS_HTTP_CODE_OTHER_4XX},
        {"HTTP/1.1 501 Not Implemented", DFAAS_HTTP_CODE_OTHER_5XX},
        {"HTTP/1.1 2x0 OK", DFAAS_HTTP_CODE_MALFORMED},
        {"HTTP/1.1 700 Odd", DFAAS_HTTP_CODE_MALFORMED},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(c.line);
        reattach(default_settings());  // maps start empty
        auto s = one_exchange(c.line);
        for (int i = 0; i < DFAAS_HTTP_CODES; ++i)
            EXPECT_EQ(s.codes[i], i == c.code ? 1u : 0u) << "code index " << i;
        EXPECT_EQ(timed(s), 1u) << "a final response, malformed or not, ends the request";
    }
}

TEST_F(HttpStatus, InterimResponseIsCountedAndTheFinalOneTimed) {
    install_figlet(FunctionPolicy::all_local());
    auto syn = local_connection();
    std::string post = "POST /function/figlet HTTP/1.1\r\nExpect: 100-continue\r\n\r\n";
    ingress(client_data(syn, 0, post).frame());
    std::string cont = "HTTP/1.1 100 Continue\r\n\r\n";
    egress(gateway_data(syn, 0, cont).frame());
    auto after_interim = http(DFAAS_STAT_LOCAL);
    ASSERT_TRUE(after_interim);
    EXPECT_EQ(after_interim->codes[DFAAS_HTTP_CODE_OTHER_1XX], 1u);
    EXPECT_EQ(timed(*after_interim), 0u) << "an interim response is not timed";
    auto body = client_data(syn, uint32_t(post.size()), "hello");
    ingress(body.frame());
    egress(gateway_data(syn, uint32_t(cont.size()), "HTTP/1.1 200 OK\r\n\r\n").frame());
    auto s = http(DFAAS_STAT_LOCAL);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->codes[DFAAS_HTTP_CODE_OTHER_1XX], 1u);
    EXPECT_EQ(s->codes[DFAAS_HTTP_CODE_200], 1u);
    EXPECT_EQ(timed(*s), 1u);
    EXPECT_EQ(s->untimed, 0u);
}

// Two requests before any response: both responses are counted by status, neither is timed
// (the connection is marked pipelined until no request is pending); a third, sequential
// request is timed again.
TEST_F(HttpStatus, PipelinedResponsesAreCountedNotTimed) {
    install_figlet(FunctionPolicy::all_local());
    auto syn = local_connection();
    ingress(client_data(syn, 0, kGet).frame());
    ingress(client_data(syn, uint32_t(kGet.size()), kGet).frame());
    std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
    std::string missing = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    egress(gateway_data(syn, 0, ok).frame());
    egress(gateway_data(syn, uint32_t(ok.size()), missing).frame());
    auto s = http(DFAAS_STAT_LOCAL);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->codes[DFAAS_HTTP_CODE_200], 1u);
    EXPECT_EQ(s->codes[DFAAS_HTTP_CODE_404], 1u);
    EXPECT_EQ(s->untimed, 2u);
    EXPECT_EQ(timed(*s), 0u);

    ingress(client_data(syn, uint32_t(2 * kGet.size()), kGet).frame());
    egress(gateway_data(syn, uint32_t(ok.size() + missing.size()), ok).frame());
    s = http(DFAAS_STAT_LOCAL);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->codes[DFAAS_HTTP_CODE_200], 2u);
    EXPECT_EQ(s->untimed, 2u);
    EXPECT_EQ(timed(*s), 1u) << "back to sequential: timed";
}

TEST_F(HttpStatus, OpaqueConnectionIsCountedOnceAndNotParsed) {
    install_figlet(FunctionPolicy::all_local());
    auto syn = local_connection();
    // A TLS ClientHello's record header: handshake, TLS 1.0 record version, length.
    std::string hello = {'\x16', '\x03', '\x01', '\x02', '\x00', '\x01', '\x00', '\x01', '\xfc'};
    hello += std::string(64, 'x');
    ingress(client_data(syn, 0, hello).frame());
    // Later client bytes that look like a request and server bytes that look like a response
    // (inside the encrypted stream) are not parsed.
    ingress(client_data(syn, uint32_t(hello.size()), kGet).frame());
    egress(gateway_data(syn, 0, "HTTP/1.1 200 OK\r\n\r\n").frame());
    auto s = http(DFAAS_STAT_LOCAL);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->opaque_connections, 1u);
    EXPECT_EQ(responses(*s), 0u);
    EXPECT_EQ(timed(*s), 0u);
    EXPECT_EQ(dp().stats().function("figlet")->local.requests, 0u);
}

TEST_F(HttpStatus, RetransmittedResponseIsCountedOnce) {
    install_figlet(FunctionPolicy::all_local());
    auto syn = local_connection();
    ingress(client_data(syn, 0, kGet).frame());
    auto response = gateway_data(syn, 0, "HTTP/1.1 503 Service Unavailable\r\n\r\n");
    egress(response.frame());
    egress(response.frame());  // the same segment again
    auto s = http(DFAAS_STAT_LOCAL);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->codes[DFAAS_HTTP_CODE_503], 1u);
    EXPECT_EQ(responses(*s), 1u);
    EXPECT_EQ(timed(*s), 1u);
}

TEST_F(HttpStatus, ServerBytesWithNothingPendingAreNotAResponse) {
    install_figlet(FunctionPolicy::all_local());
    auto syn = local_connection();
    // A response body that happens to start like a status line, with no request pending.
    egress(gateway_data(syn, 0, "HTTP/1.1 200 OK\r\n\r\n").frame());
    ingress(client_data(syn, 0, kGet).frame());
    std::string first = "HTTP/1.1 200 OK\r\nContent-Length: 19\r\n\r\n";
    egress(gateway_data(syn, 100, first).frame());
    egress(gateway_data(syn, 100 + uint32_t(first.size()), "HTTP/1.1 200 body..").frame());
    auto s = http(DFAAS_STAT_LOCAL);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->codes[DFAAS_HTTP_CODE_200], 1u);
    EXPECT_EQ(responses(*s), 1u);
}

TEST_F(HttpStatus, LatencyOfTwoMillisecondsLandsInItsBucket) {
    install_figlet(FunctionPolicy::all_local());
    auto syn = local_connection();
    ingress(client_data(syn, 0, kGet).frame());
    auto before = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    egress(gateway_data(syn, 0, "HTTP/1.1 200 OK\r\n\r\n").frame());
    auto elapsed_us = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now() - before)
                          .count();
    auto s = http(DFAAS_STAT_LOCAL);
    ASSERT_TRUE(s);
    ASSERT_EQ(timed(*s), 1u);
    // 2 ms = 2000 us: at or above bucket 8's bound (8 << 8 = 2048 us) only if slept longer; the
    // bucket must be the one whose range holds the measured latency.
    int bucket = -1;
    for (int i = 0; i < DFAAS_HTTP_BUCKETS; ++i)
        if (s->buckets[i]) bucket = i;
    uint64_t latency_us = s->latency_sum_ns / 1000;
    EXPECT_GE(latency_us, 2000u);
    EXPECT_LE(latency_us, uint64_t(elapsed_us) + 1000);
    ASSERT_GE(bucket, 1);
    EXPECT_LT(latency_us, uint64_t(DFAAS_HTTP_BUCKET_BASE_US) << bucket);
    EXPECT_GE(latency_us, uint64_t(DFAAS_HTTP_BUCKET_BASE_US) << (bucket - 1));
    EXPECT_GE(bucket, 8) << "2 ms is past 8 << 7 = 1024 us";
}

TEST_F(HttpStatus, ForwardedConnectionIsCountedUnderItsPeer) {
    FunctionPolicy p;
    p.local = 0;
    p.peers[kPeerB] = 100;
    install_figlet(p);
    uint32_t peer_index = dp().add_peer(kPeerB);
    auto syn = user_syn();
    ASSERT_EQ(ingress(syn.frame()).retval, kRedirect);
    // B's SYN-ACK (the function's address restored by B), then the client's ACK.
    TcpPacket inner;
    inner.src = kNode;
    inner.sport = kFport;
    inner.dst = syn.src;
    inner.dport = syn.sport;
    inner.flags = kSyn | kAck;
    inner.seq = kPeerIsn;
    inner.ack = syn.seq + 1;
    ingress(ipip_frame(kPeerBMac, kNodeMac, kPeerB, kNode, inner.l3()));
    ingress(ack_of(syn, kPeerIsn).frame());
    ASSERT_EQ(ingress(client_data(syn, 0, kGet, kPeerIsn).frame()).retval, kRedirect);
    inner.flags = kAck | kPsh;
    inner.seq = kPeerIsn + 1;
    inner.ack = syn.seq + 1 + uint32_t(kGet.size());
    std::string reply = "HTTP/1.1 429 Too Many Requests\r\n\r\n";
    inner.payload.assign(reply.begin(), reply.end());
    auto r = ingress(ipip_frame(kPeerBMac, kNodeMac, kPeerB, kNode, inner.l3()));
    EXPECT_EQ(r.retval, kRedirect);
    auto s = http(DFAAS_STAT_PEER_BASE + peer_index);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->codes[DFAAS_HTTP_CODE_429], 1u);
    EXPECT_EQ(timed(*s), 1u);
    EXPECT_FALSE(http(DFAAS_STAT_LOCAL).has_value());
}

TEST_F(HttpStatus, ForwardedInConnectionIsCountedUnderForwardedIn) {
    dp().add_peer(kPeerB);
    dp().set_service(dp::Service{kNode, kFport, "figlet", true});
    dp().set_service(dp::Service{kPeerB, kPeerFport, "figlet", false});
    dp().set_policy("figlet", FunctionPolicy::all_local());
    auto syn = client_to_b(41000);
    syn.tcp_options = mss_option(1440);
    ASSERT_EQ(ingress(via_b(syn)).retval, 0);
    complete_handshake(syn, kPeerB);
    auto request = client_data(syn, 0, kGet);
    ingress(via_b(request));
    auto response = gateway_data(syn, 0, "HTTP/1.1 502 Bad Gateway\r\n\r\n");
    auto r = egress(response.frame());
    ASSERT_TRUE(r.parsed.outer) << "encapsulated back to B";
    auto s = http(DFAAS_STAT_FORWARDED_IN);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->codes[DFAAS_HTTP_CODE_502], 1u);
    EXPECT_EQ(timed(*s), 1u);
    EXPECT_FALSE(http(DFAAS_STAT_LOCAL).has_value());
}

// Every entry taken (by the test, on keys no connection uses): a new route's response is counted
// as http_stats_full only, and the connection goes on.
TEST_F(HttpStatus, FullMapCountsAReasonAndTrafficContinues) {
    install_figlet(FunctionPolicy::all_local());
    int fd = bpf_obj_get((bpffs() + "/dfaas_http_stats").c_str());
    ASSERT_GE(fd, 0);
    std::vector<dfaas_http_stats> zero(static_cast<size_t>(libbpf_num_possible_cpus()));
    auto figlet = dp().function_id("figlet");
    ASSERT_TRUE(figlet);
    uint32_t filled = 0;
    for (uint32_t key = 0; filled < DFAAS_HTTP_STATS_ENTRIES; ++key) {
        if (key == *figlet * DFAAS_STAT_PATHS + DFAAS_STAT_LOCAL) continue;
        ASSERT_EQ(bpf_map_update_elem(fd, &key, zero.data(), BPF_NOEXIST), 0)
            << std::strerror(errno);
        ++filled;
    }
    uint32_t beyond = 1u << 30;
    ASSERT_NE(bpf_map_update_elem(fd, &beyond, zero.data(), BPF_NOEXIST), 0) << "the map is full";
    auto syn = local_connection();
    ASSERT_EQ(ingress(client_data(syn, 0, kGet).frame()).retval, 0);
    auto r = egress(gateway_data(syn, 0, "HTTP/1.1 200 OK\r\n\r\n").frame());
    EXPECT_EQ(r.retval, 0);
    EXPECT_EQ(r.parsed.tcp.sport, kFport) << "the reply is still restored";
    EXPECT_EQ(reason("http_stats_full"), 1u);
    // The filler keys include other functions' LOCAL rows: look the connection's own row up.
    const uint32_t own_key = *figlet * DFAAS_STAT_PATHS + DFAAS_STAT_LOCAL;
    EXPECT_NE(bpf_map_lookup_elem(fd, &own_key, zero.data()), 0) << "no row for the route";
    close(fd);
    EXPECT_EQ(dp().stats().function("figlet")->local.requests, 1u);
    // The next request on the connection is still tracked (and fails to count the same way).
    ingress(client_data(syn, uint32_t(kGet.size()), kGet).frame());
    egress(gateway_data(syn, 19, "HTTP/1.1 200 OK\r\n\r\n").frame());
    EXPECT_EQ(reason("http_stats_full"), 2u);
}

// dataplane.http_stats: false (DFAAS_CFG_F_NO_HTTP_STATS): requests are still counted, once per
// segment, and nothing reaches dfaas_http_stats; turned back on, the next request is recorded.
TEST_F(HttpStatus, RecordingOffCountsRequestsOnlyAndOnAgainRecords) {
    auto settings = dp().settings();
    EXPECT_TRUE(settings.http_stats) << "recording is on by default";
    settings.http_stats = false;
    dp().update_settings(settings);
    EXPECT_FALSE(dp().settings().http_stats);
    install_figlet(FunctionPolicy::all_local());
    auto syn = local_connection();
    ingress(client_data(syn, 0, kGet).frame());
    ingress(client_data(syn, 0, kGet).frame());  // a retransmission: not a second request
    EXPECT_EQ(
        egress(gateway_data(syn, 0, "HTTP/1.1 503 Service Unavailable\r\n\r\n").frame()).retval, 0);
    EXPECT_EQ(dp().stats().function("figlet")->local.requests, 1u);
    EXPECT_FALSE(http(DFAAS_STAT_LOCAL).has_value()) << "nothing recorded while off";

    settings.http_stats = true;
    dp().update_settings(settings);
    ingress(client_data(syn, uint32_t(kGet.size()), kGet).frame());
    egress(gateway_data(syn, 36, "HTTP/1.1 200 OK\r\n\r\n").frame());
    auto s = http(DFAAS_STAT_LOCAL);
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->codes[DFAAS_HTTP_CODE_200], 1u);
    EXPECT_EQ(s->codes[DFAAS_HTTP_CODE_503], 0u);
    EXPECT_EQ(timed(*s), 1u);
    EXPECT_EQ(dp().stats().function("figlet")->local.requests, 2u);
}

}  // namespace
}  // namespace dfaas::test
