// ns per packet of every data-plane path, measured by the kernel around the program run
// (BPF_PROG_TEST_RUN with a fresh skb per run; see Harness::time_run). Root: the benchmark makes
// its own network and mount namespaces like the packet tests.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <vector>

#include "harness.h"

namespace dfaas::test {
namespace {

Harness &harness() {
    static Harness h;
    return h;
}

// Runs `frame_for(i)` through a program, timing only the program. The reported time is the
// mean over iterations (Google Benchmark's manual time); the median per packet is reported too
// (counter median_ns): on a busy 2-core VM a run preempted by another process counts its whole
// wait into the mean, so means move with the machine's load and medians much less.
template <class FrameFor, class Timer>
void run_timed(benchmark::State &state, FrameFor frame_for, Timer timer) {
    // Bounded: one sample per iteration up to this many, enough for a stable median.
    constexpr size_t kMaxSamples = 1 << 20;
    std::vector<uint32_t> samples;
    uint64_t i = 0;
    for (auto _ : state) {
        auto frame = frame_for(i++);
        uint64_t ns = timer(frame);
        state.SetIterationTime(double(ns) / 1e9);
        if (samples.size() < kMaxSamples)
            samples.push_back(uint32_t(std::min<uint64_t>(ns, UINT32_MAX)));
    }
    state.SetItemsProcessed(state.iterations());
    if (samples.empty()) return;
    auto mid = samples.begin() + std::ptrdiff_t(samples.size() / 2);
    std::nth_element(samples.begin(), mid, samples.end());
    state.counters["median_ns"] = double(*mid);
}

void fresh(const FunctionPolicy &policy) {
    harness().attach(Harness::default_settings());
    harness().install_figlet(policy);
}

FunctionPolicy all_to_b() {
    FunctionPolicy p;
    p.local = 0;
    p.peers[kPeerB] = 100;
    return p;
}

// A distinct client tuple per iteration, so every SYN selects and inserts.
TcpPacket syn_number(uint64_t i) {
    auto syn = Harness::user_syn(uint16_t(1024 + i % 60000));
    syn.src = Ipv4{kClient.value + uint32_t(i / 60000) * 256};
    return syn;
}

TcpPacket client_data(const TcpPacket &syn) {
    auto d = syn;
    d.flags = kAck | kPsh;
    d.tcp_options.clear();
    std::string req = "GET /function/figlet HTTP/1.1\r\nHost: a\r\n\r\n";
    d.payload.assign(req.begin(), req.end());
    return d;
}

// The rest of the handshake after `syn` went through ingress: the server's SYN-ACK (from the
// gateway at egress, or from peer B encapsulated when the connection was forwarded) and the
// client's ACK, which moves the connection from the half-open to the established table.
void complete_handshake(const TcpPacket &syn, bool forwarded) {
    constexpr uint32_t kServerIsn = 1000;
    TcpPacket synack;
    synack.flags = kSyn | kAck;
    synack.seq = kServerIsn;
    synack.ack = syn.seq + 1;
    synack.dport = syn.sport;
    synack.dst = syn.src;
    if (forwarded) {
        synack.src = syn.dst;
        synack.sport = syn.dport;
        harness().ingress(ipip_frame(kPeerBMac, kNodeMac, kPeerB, kNode, synack.l3()));
    } else {
        synack.eth_src = kNodeMac;
        synack.eth_dst = kClientMac;
        synack.src = kGateway.addr;
        synack.sport = kGateway.port;
        harness().egress(synack.frame());
    }
    auto ack = syn;
    ack.flags = kAck;
    ack.seq = syn.seq + 1;
    ack.ack = kServerIsn + 1;
    ack.tcp_options.clear();
    harness().ingress(ack.frame());
}

// What the measurement itself costs: a program that only returns TC_ACT_OK, timed the same way.
// Subtract it from the other figures to get the data plane's own cost.
void BM_Harness_Noop(benchmark::State &state) {
    struct bpf_insn insns[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},  // r0 = 0
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},                   // exit
    };
    int fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "noop", "GPL", insns, 2, nullptr);
    if (fd < 0) {
        state.SkipWithError("cannot load the no-op program");
        return;
    }
    auto frame = Harness::user_syn().frame();
    run_timed(
        state, [&](uint64_t) { return frame; },
        [&](const Bytes &f) {
            __sk_buff ctx{};
            ctx.ifindex = environment().ifindex;
            LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f.data(),
                        .data_size_in = uint32_t(f.size()), .ctx_in = &ctx,
                        .ctx_size_in = sizeof(ctx), .repeat = 1);
            bpf_prog_test_run_opts(fd, &opts);
            return uint64_t(opts.duration);
        });
    close(fd);
}

void BM_Passthrough_NotIpv4(benchmark::State &state) {
    fresh(FunctionPolicy::all_local());
    auto frame = ipv6_frame();
    run_timed(
        state, [&](uint64_t) { return frame; },
        [](const Bytes &f) { return harness().time_ingress(f); });
}

void BM_Passthrough_NoService(benchmark::State &state) {
    fresh(FunctionPolicy::all_local());
    auto syn = Harness::user_syn();
    syn.dport = 22;
    auto frame = syn.frame();
    run_timed(
        state, [&](uint64_t) { return frame; },
        [](const Bytes &f) { return harness().time_ingress(f); });
}

void BM_Established_Local(benchmark::State &state) {
    fresh(FunctionPolicy::all_local());
    auto syn = Harness::user_syn();
    harness().ingress(syn.frame());
    complete_handshake(syn, false);
    auto frame = client_data(syn).frame();
    run_timed(
        state, [&](uint64_t) { return frame; },
        [](const Bytes &f) { return harness().time_ingress(f); });
}

// A pure ACK of an established local connection: no payload, so no HTTP request check.
void BM_Established_LocalAck(benchmark::State &state) {
    fresh(FunctionPolicy::all_local());
    auto syn = Harness::user_syn();
    harness().ingress(syn.frame());
    complete_handshake(syn, false);
    auto ack = client_data(syn);
    ack.flags = kAck;
    ack.payload.clear();
    auto frame = ack.frame();
    run_timed(
        state, [&](uint64_t) { return frame; },
        [](const Bytes &f) { return harness().time_ingress(f); });
}

void BM_Established_Forward(benchmark::State &state) {
    fresh(all_to_b());
    auto syn = Harness::user_syn();
    harness().ingress(syn.frame());
    complete_handshake(syn, true);
    auto frame = client_data(syn).frame();
    run_timed(
        state, [&](uint64_t) { return frame; },
        [](const Bytes &f) { return harness().time_ingress(f); });
}

// HTTP request timing (bpf/lib/http.h): the client's request `i` of a keep-alive connection, a new
// sequence number each, so every one counts and starts a timing.
TcpPacket request_number(const TcpPacket &syn, uint64_t i) {
    auto d = client_data(syn);
    d.seq = syn.seq + 1 + uint32_t(i * d.payload.size());
    return d;
}

// The server's response that ends a pending request: a status line and headers.
TcpPacket response_from(TcpPacket r) {
    std::string text = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    r.flags = kAck | kPsh;
    r.payload.assign(text.begin(), text.end());
    return r;
}

TcpPacket gateway_response(const TcpPacket &syn) {
    TcpPacket r;
    r.eth_src = kNodeMac;
    r.eth_dst = kClientMac;
    r.src = kGateway.addr;
    r.sport = kGateway.port;
    r.dst = syn.src;
    r.dport = syn.sport;
    return response_from(r);
}

// An established local request that starts a timing (the previous one answered, untimed, in
// between): the request side of the HTTP accounting.
void BM_Established_LocalRequest(benchmark::State &state) {
    fresh(FunctionPolicy::all_local());
    auto syn = Harness::user_syn();
    harness().ingress(syn.frame());
    complete_handshake(syn, false);
    auto response = gateway_response(syn).frame();
    run_timed(
        state,
        [&](uint64_t i) {
            if (i) harness().egress(response);
            return request_number(syn, i).frame();
        },
        [](const Bytes &f) { return harness().time_ingress(f); });
}

// The gateway's response to a pending request (sent untimed before it): status counted and the
// request timed into the histogram.
void BM_Reply_LocalResponse(benchmark::State &state) {
    fresh(FunctionPolicy::all_local());
    auto syn = Harness::user_syn();
    harness().ingress(syn.frame());
    complete_handshake(syn, false);
    auto response = gateway_response(syn).frame();
    run_timed(
        state,
        [&](uint64_t i) {
            harness().ingress(request_number(syn, i).frame());
            return response;
        },
        [](const Bytes &f) { return harness().time_egress(f); });
}

// Peer B's encapsulated response to a pending request of a forwarded connection.
void BM_Reply_ForwardResponse(benchmark::State &state) {
    fresh(all_to_b());
    auto syn = Harness::user_syn();
    harness().ingress(syn.frame());
    complete_handshake(syn, true);
    TcpPacket inner;
    inner.src = kNode;
    inner.sport = kFport;
    inner.dst = kClient;
    inner.dport = syn.sport;
    auto response = ipip_frame(kPeerBMac, kNodeMac, kPeerB, kNode, response_from(inner).l3());
    run_timed(
        state,
        [&](uint64_t i) {
            harness().ingress(request_number(syn, i).frame());
            return response;
        },
        [](const Bytes &f) { return harness().time_ingress(f); });
}

void BM_Syn_Local(benchmark::State &state) {
    fresh(FunctionPolicy::all_local());
    run_timed(
        state, [](uint64_t i) { return syn_number(i).frame(); },
        [](const Bytes &f) { return harness().time_ingress(f); });
}

void BM_Syn_Forward(benchmark::State &state) {
    fresh(all_to_b());
    run_timed(
        state, [](uint64_t i) { return syn_number(i).frame(); },
        [](const Bytes &f) { return harness().time_ingress(f); });
}

void BM_Syn_Reject(benchmark::State &state) {
    FunctionPolicy p;
    p.local = 0;
    p.reject = 100;
    fresh(p);
    run_timed(
        state, [](uint64_t i) { return syn_number(i).frame(); },
        [](const Bytes &f) { return harness().time_ingress(f); });
}

void BM_Syn_LocalCapOverflow(benchmark::State &state) {
    FunctionPolicy p;
    p.local = 100;
    p.local_cap = 1;
    p.overflow[kPeerB] = 100;
    fresh(p);
    // The cap counts completed handshakes (bpf/lib/ct.h): every 100 SYNs one connection from
    // another client (untimed) completes whenever the window has room again, so the timed SYNs
    // find the cap reached (all but those right after the window rolls).
    run_timed(
        state,
        [](uint64_t i) {
            if (i % 100 == 0) {
                auto filler = syn_number(i);
                filler.src = kPeerC;
                auto r = harness().ingress(filler.frame());
                if (r.retval == 0 && !r.parsed.outer) complete_handshake(filler, false);
            }
            return syn_number(i).frame();
        },
        [](const Bytes &f) { return harness().time_ingress(f); });
}

void BM_Reply_Local(benchmark::State &state) {
    fresh(FunctionPolicy::all_local());
    auto syn = Harness::user_syn();
    harness().ingress(syn.frame());
    complete_handshake(syn, false);
    TcpPacket r;
    r.eth_src = kNodeMac;
    r.eth_dst = kClientMac;
    r.src = kGateway.addr;
    r.sport = kGateway.port;
    r.dst = kClient;
    r.dport = syn.sport;
    r.flags = kAck | kPsh;
    r.payload.assign(200, 'x');
    auto frame = r.frame();
    run_timed(
        state, [&](uint64_t) { return frame; },
        [](const Bytes &f) { return harness().time_egress(f); });
}

void BM_Reply_Forward(benchmark::State &state) {
    fresh(all_to_b());
    auto syn = Harness::user_syn();
    harness().ingress(syn.frame());
    complete_handshake(syn, true);
    TcpPacket inner;
    inner.src = kNode;
    inner.sport = kFport;
    inner.dst = kClient;
    inner.dport = syn.sport;
    inner.flags = kAck | kPsh;
    inner.payload.assign(200, 'x');
    auto frame = ipip_frame(kPeerBMac, kNodeMac, kPeerB, kNode, inner.l3());
    run_timed(
        state, [&](uint64_t) { return frame; },
        [](const Bytes &f) { return harness().time_ingress(f); });
}

// The peer's side: connections node B forwards to us.
TcpPacket client_to_b(uint16_t port, uint8_t flags) {
    TcpPacket p;
    p.src = kClient;
    p.sport = port;
    p.dst = kPeerB;
    p.dport = kPeerFport;
    p.flags = flags;
    return p;
}

void forwarded_in_setup() {
    harness().attach(Harness::default_settings());
    auto &dp = harness().dp();
    dp.add_peer(kPeerB);
    dp.set_service(dp::Service{kNode, kFport, "figlet", true});
    dp.set_service(dp::Service{kPeerB, kPeerFport, "figlet", false});
    dp.set_policy("figlet", FunctionPolicy::all_local());
}

// SYN-ACK from the gateway and B's ACK: the forwarded-in connection becomes established.
void complete_forwarded_in_handshake(const TcpPacket &syn) {
    TcpPacket synack;
    synack.eth_src = kNodeMac;
    synack.eth_dst = kClientMac;
    synack.src = kGateway.addr;
    synack.sport = kGateway.port;
    synack.dst = syn.src;
    synack.dport = syn.sport;
    synack.flags = kSyn | kAck;
    synack.seq = 1000;
    synack.ack = syn.seq + 1;
    harness().egress(synack.frame());
    auto ack = syn;
    ack.flags = kAck;
    ack.seq = syn.seq + 1;
    ack.ack = 1001;
    harness().ingress(ipip_frame(kPeerBMac, kNodeMac, kPeerB, kNode, ack.l3()));
}

void BM_ForwardedIn_Data(benchmark::State &state) {
    forwarded_in_setup();
    auto syn = client_to_b(41000, kSyn);
    harness().ingress(ipip_frame(kPeerBMac, kNodeMac, kPeerB, kNode, syn.l3()));
    complete_forwarded_in_handshake(syn);
    auto data = client_to_b(41000, kAck | kPsh);
    data.payload.assign(200, 'x');
    auto frame = ipip_frame(kPeerBMac, kNodeMac, kPeerB, kNode, data.l3());
    run_timed(
        state, [&](uint64_t) { return frame; },
        [](const Bytes &f) { return harness().time_ingress(f); });
}

void BM_ForwardedIn_Syn(benchmark::State &state) {
    forwarded_in_setup();
    run_timed(
        state,
        [](uint64_t i) {
            auto syn = client_to_b(uint16_t(1024 + i % 60000), kSyn);
            syn.src = Ipv4{kClient.value + uint32_t(i / 60000) * 256};
            return ipip_frame(kPeerBMac, kNodeMac, kPeerB, kNode, syn.l3());
        },
        [](const Bytes &f) { return harness().time_ingress(f); });
}

void BM_ForwardedIn_Reply(benchmark::State &state) {
    forwarded_in_setup();
    auto syn = client_to_b(41000, kSyn);
    harness().ingress(ipip_frame(kPeerBMac, kNodeMac, kPeerB, kNode, syn.l3()));
    complete_forwarded_in_handshake(syn);
    TcpPacket r;
    r.eth_src = kNodeMac;
    r.eth_dst = kClientMac;
    r.src = kGateway.addr;
    r.sport = kGateway.port;
    r.dst = kClient;
    r.dport = 41000;
    r.flags = kAck | kPsh;
    r.payload.assign(200, 'x');
    auto frame = r.frame();
    run_timed(
        state, [&](uint64_t) { return frame; },
        [](const Bytes &f) { return harness().time_egress(f); });
}

void BM_Egress_Unrelated(benchmark::State &state) {
    fresh(FunctionPolicy::all_local());
    TcpPacket p;
    p.src = kNode;
    p.sport = 22;
    p.dst = kClient;
    p.dport = 50000;
    p.flags = kAck;
    auto frame = p.frame();
    run_timed(
        state, [&](uint64_t) { return frame; },
        [](const Bytes &f) { return harness().time_egress(f); });
}

// BM_Syn_Local with `dfaasctl monitor` attached: every SYN writes an event (no sampling, no rate
// limit); the ring is read between runs, untimed, as the monitor would.
void BM_Syn_Local_MonitorOn(benchmark::State &state) {
    fresh(FunctionPolicy::all_local());
    auto monitor = dp::EventMonitor::start(harness().bpffs(), dp::MonitorOptions{});
    uint64_t events = 0;
    auto count = [&](const dp::MonitorEvent &) { ++events; };
    run_timed(
        state,
        [&](uint64_t i) {
            if (i % 1024 == 0) {
                monitor->renew();  // the lease lasts 5 s
                monitor->poll(0, count);
            }
            return syn_number(i).frame();
        },
        [](const Bytes &f) { return harness().time_ingress(f); });
    monitor->poll(0, count);
    state.counters["events"] = double(events);
}

#define PATH_BENCHMARK(fn) BENCHMARK(fn)->UseManualTime()->Unit(benchmark::kNanosecond)
PATH_BENCHMARK(BM_Harness_Noop);
PATH_BENCHMARK(BM_Passthrough_NotIpv4);
PATH_BENCHMARK(BM_Passthrough_NoService);
PATH_BENCHMARK(BM_Established_Local);
PATH_BENCHMARK(BM_Established_LocalAck);
PATH_BENCHMARK(BM_Established_Forward);
PATH_BENCHMARK(BM_Established_LocalRequest);
PATH_BENCHMARK(BM_Reply_LocalResponse);
PATH_BENCHMARK(BM_Reply_ForwardResponse);
PATH_BENCHMARK(BM_Syn_Local);
PATH_BENCHMARK(BM_Syn_Local_MonitorOn);
PATH_BENCHMARK(BM_Syn_Forward);
PATH_BENCHMARK(BM_Syn_Reject);
PATH_BENCHMARK(BM_Syn_LocalCapOverflow);
PATH_BENCHMARK(BM_Reply_Local);
PATH_BENCHMARK(BM_Reply_Forward);
PATH_BENCHMARK(BM_ForwardedIn_Syn);
PATH_BENCHMARK(BM_ForwardedIn_Data);
PATH_BENCHMARK(BM_ForwardedIn_Reply);
PATH_BENCHMARK(BM_Egress_Unrelated);

}  // namespace
}  // namespace dfaas::test

int main(int argc, char **argv) {
    benchmark::Initialize(&argc, argv);
    dfaas::test::setup_environment();
    if (!dfaas::test::environment().ready) {
        std::cerr << "bpf benchmarks need: " << dfaas::test::environment().why_not << '\n';
        return 1;
    }
    benchmark::RunSpecifiedBenchmarks();
    dfaas::test::harness().detach();
    benchmark::Shutdown();
    return 0;
}
