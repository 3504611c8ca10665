// The node model: its keys and their bounds, its capacity (cpus / cost_ms), overload as latency
// then 429 / 502 / 408, the queue bound, and the node-exporter series that follow the load.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "faas_sim/function_spec.h"
#include "test_support.h"

namespace faas_sim::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

FunctionsDocument document_from_yaml(const std::string &yaml) {
    return parse_functions_document(yaml, "node.yaml", /*strict_json=*/false);
}

std::string document_error(const std::string &yaml) {
    try {
        document_from_yaml(yaml);
    } catch (const ConfigError &error) {
        return error.what();
    }
    return "";
}

struct Answer {
    double sent_ms = 0;     // when it was sent, from the start of the load
    int status = -1;        // -1: no HTTP answer
    double latency_ms = 0;  // send to answer
    double done_ms = 0;     // when it was answered, from the start of the load
};

// Open loop: `count` requests at `rate` per second, each on its own connection and thread, so
// that a slow answer never delays the next request.
std::vector<Answer> offer(const RunningServer &server, const std::string &path, double rate,
                          size_t count) {
    std::vector<Answer> answers(count);
    std::vector<std::thread> senders;
    const auto start = Clock::now();
    for (size_t i = 0; i < count; ++i) {
        std::this_thread::sleep_until(
            start + std::chrono::duration_cast<Clock::duration>(
                        std::chrono::duration<double>(static_cast<double>(i) / rate)));
        senders.emplace_back([&, i] {
            auto client = server.client();
            Answer &answer = answers[i];
            answer.sent_ms = ms_since(start);
            auto response = client->Post(path, "x", "text/plain");
            answer.done_ms = ms_since(start);
            answer.latency_ms = answer.done_ms - answer.sent_ms;
            if (response) answer.status = response->status;
        });
    }
    for (auto &sender : senders)
        sender.join();
    return answers;
}

size_t count_status(const std::vector<Answer> &answers, int status) {
    size_t n = 0;
    for (const Answer &answer : answers)
        n += answer.status == status ? 1 : 0;
    return n;
}

TEST(NodeModelConfig, ReadsTheNodeAndEveryFunctionKey) {
    FunctionsDocument document = document_from_yaml(R"(
node: {cpus: 4, memory_mb: 16384, base_memory_mb: 2534}
functions:
  - name: figlet
    cost_ms: 8.9
    memory_mb: 64
    request_memory_mb: 2
    queue: 64
    timeout_ms: 2000
    max_inflight: 3
)");
    ASSERT_TRUE(document.node);
    EXPECT_EQ(document.node->cpus, 4u);
    EXPECT_EQ(document.node->memory_mb, 16384u);
    EXPECT_EQ(document.node->base_memory_mb, 2534u);
    ASSERT_EQ(document.functions.size(), 1u);
    const FunctionSpec &spec = document.functions[0];
    EXPECT_DOUBLE_EQ(spec.cost_ms, 8.9);
    EXPECT_EQ(spec.memory_mb, 64u);
    EXPECT_EQ(spec.request_memory_mb, 2u);
    EXPECT_EQ(spec.queue, 64u);
    EXPECT_EQ(spec.timeout_ms, 2000u);
    EXPECT_EQ(spec.max_inflight, 3u);
}

TEST(NodeModelConfig, FilesWithoutNodeHaveNoNodeModel) {
    FunctionsDocument document = document_from_yaml("functions:\n  - {name: a, sleep_ms: 40}\n");
    EXPECT_FALSE(document.node);
    EXPECT_DOUBLE_EQ(document.functions.at(0).cost_ms, 0);
    EXPECT_EQ(document.functions.at(0).queue, 0u);
}

TEST(NodeModelConfig, TheFunctionsOnlyReaderRefusesANodeModel) {
    try {
        parse_functions("node: {cpus: 1, memory_mb: 1}\nfunctions: []\n", "n.yaml", false);
        FAIL() << "parse_functions would drop the node";
    } catch (const ConfigError &error) {
        EXPECT_NE(std::string(error.what()).find("has a 'node'"), std::string::npos)
            << error.what();
    }
}

struct BadNodeFile {
    const char *what;
    const char *yaml;
    std::vector<const char *> expected_fragments;
};

void PrintTo(const BadNodeFile &bad, std::ostream *out) {
    *out << bad.what;
}

class NodeModelErrors : public ::testing::TestWithParam<BadNodeFile> {};

TEST_P(NodeModelErrors, NameTheKey) {
    const BadNodeFile &bad = GetParam();
    std::string message = document_error(bad.yaml);
    ASSERT_FALSE(message.empty()) << bad.what << " was accepted";
    for (const char *fragment : bad.expected_fragments) {
        EXPECT_NE(message.find(fragment), std::string::npos)
            << bad.what << ": '" << fragment << "' missing from: " << message;
    }
}

// A valid function of a node model, to which each case adds one key.
#define NODE_FUNCTION "functions:\n  - name: f\n    cost_ms: 10\n"
#define NODE_OK "node: {cpus: 2, memory_mb: 1024}\n"

INSTANTIATE_TEST_SUITE_P(
    Cases, NodeModelErrors,
    ::testing::Values(
        BadNodeFile{"cost_ms without node",
                    "functions:\n  - {name: f, cost_ms: 10}\n",
                    {"node.yaml:2", "'cost_ms' belongs to the node model", "top-level 'node'"}},
        BadNodeFile{"queue without node",
                    "functions:\n  - {name: f, queue: 3}\n",
                    {"'queue' belongs to the node model"}},
        BadNodeFile{"node not a map", "node: 4\nfunctions: []\n", {"node", "must be a map"}},
        BadNodeFile{"node without cpus",
                    "node: {memory_mb: 1}\nfunctions: []\n",
                    {"node", "missing 'cpus'"}},
        BadNodeFile{
            "node without memory", "node: {cpus: 1}\nfunctions: []\n", {"missing 'memory_mb'"}},
        BadNodeFile{"cpus 0",
                    "node: {cpus: 0, memory_mb: 1}\nfunctions: []\n",
                    {"'cpus' must be an integer from 1 to 1024", "got '0'"}},
        BadNodeFile{"cpus over the limit",
                    "node: {cpus: 1025, memory_mb: 1}\nfunctions: []\n",
                    {"node.yaml:1", "'cpus' must be an integer from 1 to 1024", "got '1025'"}},
        BadNodeFile{"node memory over the limit",
                    "node: {cpus: 1, memory_mb: 16777217}\nfunctions: []\n",
                    {"'memory_mb' must be an integer from 1 to 16777216"}},
        BadNodeFile{"base memory over the node's",
                    "node: {cpus: 1, memory_mb: 100, base_memory_mb: 101}\nfunctions: []\n",
                    {"'base_memory_mb' must be an integer from 0 to 100"}},
        BadNodeFile{"misspelt node key",
                    "node: {cpu: 1, memory_mb: 1}\nfunctions: []\n",
                    {"unknown key 'cpu'", "did you mean 'cpus'"}},
        BadNodeFile{"duplicate node",
                    "node: {cpus: 1, memory_mb: 1}\nnode: {cpus: 2, memory_mb: 1}\n",
                    {"duplicate key 'node'"}},
        BadNodeFile{"function without cost_ms",
                    NODE_OK "functions:\n  - name: f\n",
                    {"functions[0] (f)", "missing 'cost_ms'"}},
        BadNodeFile{"cost_ms 0",
                    NODE_OK "functions:\n  - {name: f, cost_ms: 0}\n",
                    {"'cost_ms' must be greater than 0"}},
        BadNodeFile{"cost_ms over the limit",
                    NODE_OK "functions:\n  - {name: f, cost_ms: 600001}\n",
                    {"'cost_ms' must be a number of milliseconds from 0 to 600000"}},
        BadNodeFile{"queue over the limit",
                    NODE_OK NODE_FUNCTION "    queue: 100001\n",
                    {"node.yaml:5", "'queue' must be an integer from 0 to 100000", "got '100001'"}},
        BadNodeFile{"timeout over the limit",
                    NODE_OK NODE_FUNCTION "    timeout_ms: 600001\n",
                    {"'timeout_ms' must be an integer from 0 to 600000"}},
        BadNodeFile{"function memory over the limit",
                    NODE_OK NODE_FUNCTION "    memory_mb: 1048577\n",
                    {"'memory_mb' must be an integer from 0 to 1048576"}},
        BadNodeFile{"request memory over the limit",
                    NODE_OK NODE_FUNCTION "    request_memory_mb: 1048577\n",
                    {"'request_memory_mb' must be an integer from 0 to 1048576"}},
        BadNodeFile{"replicas beyond the node's memory",
                    "node: {cpus: 1, memory_mb: 1000, base_memory_mb: 500}\n" NODE_FUNCTION
                    "    memory_mb: 200\n    replicas: 3\n",
                    {"node", "need 1100 MB", "more than memory_mb 1000"}}));

// The largest accepted values parse (each bound is inclusive).
TEST(NodeModelConfig, AcceptsEveryBound) {
    FunctionsDocument document = document_from_yaml(
        "node: {cpus: 1024, memory_mb: 16777216, base_memory_mb: 0}\n" NODE_FUNCTION
        "    queue: 100000\n    timeout_ms: 600000\n    memory_mb: 1048576\n"
        "    request_memory_mb: 1048576\n");
    EXPECT_EQ(document.node->cpus, 1024u);
    EXPECT_EQ(document.functions[0].queue, 100000u);
}

// 2 CPUs and 50 ms a request: 40 requests a second, whatever the number of clients.
TEST(NodeModelServer, ServesCpusOverCostRequestsPerSecond) {
    RunningServer server(
        "node: {cpus: 2, memory_mb: 1024}\n"
        "functions:\n  - {name: f, behaviour: echo, cost_ms: 50, queue: 16}\n");
    constexpr int kClients = 6;  // three times the CPUs: the queue is never empty
    const auto start = Clock::now();
    const auto end = start + milliseconds(1250);
    std::atomic<int> counted{0};
    std::atomic<int> failed{0};
    std::vector<std::thread> clients;
    for (int i = 0; i < kClients; ++i) {
        clients.emplace_back([&] {
            auto client = server.client();
            while (Clock::now() < end) {
                auto response = client->Post("/function/f", "x", "text/plain");
                if (!response || response->status != 200) {
                    ++failed;
                    continue;
                }
                // The first 250 ms fill the queue; one second is counted after.
                const double done = ms_since(start);
                if (done >= 250 && done < 1250) ++counted;
            }
        });
    }
    for (auto &client : clients)
        client.join();
    EXPECT_EQ(failed.load(), 0);
    // 2 x 1000 / 50 = 40 a second; at most the 2 requests running at the window's start more.
    EXPECT_LE(counted.load(), 42);
    EXPECT_GE(counted.load(), 32);  // timer slack on a busy machine, not lost capacity
    EXPECT_EQ(sample(metrics_of(server), "faas_sim_node_peak_busy_cpus"), 2);
}

// Offered twice the capacity, the function answers later and later while its queue fills, then
// refuses (429); never more than `cpus` requests run at once.
TEST(NodeModelServer, OverloadShowsAsLatencyThenTooManyRequests) {
    RunningServer server(
        "node: {cpus: 2, memory_mb: 1024}\n"
        "functions:\n  - {name: f, behaviour: echo, cost_ms: 50, queue: 8}\n");
    std::vector<Answer> answers = offer(server, "/function/f", 80, 80);  // 1 s at 2 x 40/s
    const size_t ok = count_status(answers, 200);
    const size_t refused = count_status(answers, 429);
    EXPECT_EQ(ok + refused, answers.size()) << "other statuses or transport errors";
    // One second of service plus what was queued: about 40 + 10.
    EXPECT_GE(ok, 40u);
    EXPECT_LE(ok, 56u);
    EXPECT_GE(refused, 20u);

    double first_refusal_ms = 1e9;
    double slowest_ok_ms = 0;
    for (const Answer &answer : answers) {
        if (answer.status == 429) first_refusal_ms = std::min(first_refusal_ms, answer.sent_ms);
        if (answer.status == 200) slowest_ok_ms = std::max(slowest_ok_ms, answer.latency_ms);
    }
    EXPECT_LT(answers[0].latency_ms, 120) << "an idle node serves at once";
    // The queue of 8 behind 2 CPUs: up to 8 x 25 ms of waiting before the 50 ms of service.
    EXPECT_GT(slowest_ok_ms, 150);
    EXPECT_LT(slowest_ok_ms, 600);
    // Refusals start once the queue is full, not with the first request above capacity.
    EXPECT_GT(first_refusal_ms, 100);
    const std::string metrics = metrics_of(server);
    EXPECT_EQ(sample(metrics, "faas_sim_node_peak_busy_cpus"), 2);
    EXPECT_EQ(sample(metrics,
                     "gateway_function_invocation_total{code=\"429\",function_name=\"f."
                     "openfaas-fn\"}"),
              static_cast<double>(refused));
}

// With a long queue and a timeout, overload shows as latency up to the timeout, then 502 for
// requests still waiting at it; the requests that got a CPU keep the node at its capacity.
TEST(NodeModelServer, OverloadWithATimeoutAnswers502) {
    RunningServer server(
        "node: {cpus: 2, memory_mb: 1024}\n"
        "functions:\n  - {name: f, behaviour: echo, cost_ms: 50, queue: 200, timeout_ms: 300}\n");
    std::vector<Answer> answers = offer(server, "/function/f", 80, 80);
    const size_t ok = count_status(answers, 200);
    const size_t queue_timeouts = count_status(answers, 502);
    EXPECT_EQ(ok + queue_timeouts, answers.size());
    EXPECT_EQ(count_status(answers, 429), 0u) << "the queue is long enough";
    EXPECT_GE(queue_timeouts, 10u);
    EXPECT_GE(ok, 40u) << "timeouts must not waste the CPUs";
    double slowest_ok_ms = 0;
    for (const Answer &answer : answers) {
        if (answer.status == 502) {
            // Answered at the timeout (plus scheduling slack), never before it.
            EXPECT_GE(answer.latency_ms, 290);
            EXPECT_LT(answer.latency_ms, 600);
        }
        if (answer.status == 200) slowest_ok_ms = std::max(slowest_ok_ms, answer.latency_ms);
    }
    EXPECT_GT(slowest_ok_ms, 200) << "served requests waited up to the timeout";
    EXPECT_LT(slowest_ok_ms, 500) << "at most timeout_ms of waiting, then cost_ms";
    EXPECT_EQ(sample(metrics_of(server), "faas_sim_node_peak_busy_cpus"), 2);
}

// A request whose cost is longer than its timeout is killed at the timeout (408) and frees its
// CPU then.
TEST(NodeModelServer, ExecTimeoutCutsARequestLongerThanItsTimeout) {
    RunningServer server(
        "node: {cpus: 1, memory_mb: 1024}\n"
        "functions:\n  - {name: f, behaviour: echo, cost_ms: 400, timeout_ms: 100}\n");
    const auto start = Clock::now();
    auto response = server.client()->Post("/function/f", "x", "text/plain");
    const double latency = ms_since(start);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 408);
    EXPECT_EQ(response->body, "Killed process.\n");
    EXPECT_GE(latency, 95);
    EXPECT_LT(latency, 300);
    const std::string metrics = metrics_of(server);
    EXPECT_NEAR(sample(metrics, "node_cpu_seconds_total{cpu=\"0\",mode=\"user\"}"), 0.1, 0.05);
    EXPECT_EQ(sample(metrics,
                     "gateway_function_invocation_total{code=\"408\",function_name=\"f."
                     "openfaas-fn\"}"),
              1);
}

// queue: 2 admits two waiting requests; the next one (the bound + 1) is refused at once.
TEST(NodeModelServer, RefusesTheRequestBeyondTheQueueBound) {
    RunningServer server(
        "node: {cpus: 1, memory_mb: 1024}\n"
        "functions:\n  - {name: f, behaviour: echo, cost_ms: 200, queue: 2}\n");
    std::vector<std::thread> admitted;
    std::atomic<int> admitted_ok{0};
    auto send = [&] {
        admitted.emplace_back([&] {
            auto response = server.client()->Post("/function/f", "x", "text/plain");
            if (response && response->status == 200) ++admitted_ok;
        });
    };
    send();
    ASSERT_TRUE(
        eventually([&] { return sample(metrics_of(server), "faas_sim_node_busy_cpus") == 1; }));
    send();
    send();
    ASSERT_TRUE(eventually([&] {
        return sample(metrics_of(server),
                      "faas_sim_function_queued_requests{function_name=\"f.openfaas-fn\"}") == 2;
    }));
    const auto start = Clock::now();
    auto beyond = server.client()->Post("/function/f", "x", "text/plain");
    ASSERT_TRUE(beyond);
    EXPECT_EQ(beyond->status, 429);
    EXPECT_NE(beyond->body.find("Max concurrent requests: 3"), std::string::npos) << beyond->body;
    EXPECT_LT(ms_since(start), 100) << "a full queue refuses without waiting";
    for (auto &thread : admitted)
        thread.join();
    EXPECT_EQ(admitted_ok.load(), 3);
}

// max_inflight per replica bounds a function's running requests below the node's CPUs.
TEST(NodeModelServer, MaxInflightBoundsAReplicaBelowTheCpus) {
    RunningServer server(
        "node: {cpus: 4, memory_mb: 1024}\n"
        "functions:\n  - {name: f, behaviour: echo, cost_ms: 100, queue: 8, max_inflight: 1}\n");
    std::vector<Answer> answers = offer(server, "/function/f", 1000, 3);  // at once
    EXPECT_EQ(count_status(answers, 200), 3u);
    double slowest = 0;
    for (const Answer &answer : answers)
        slowest = std::max(slowest, answer.latency_ms);
    EXPECT_GE(slowest, 280) << "one at a time: the third waits for two";
    EXPECT_EQ(sample(metrics_of(server), "faas_sim_node_peak_busy_cpus"), 1);
}

// The node-exporter series the agent's default queries read follow the model: CPU seconds
// grow by cost_ms per request, memory by the requests admitted.
TEST(NodeModelServer, NodeMetricsFollowTheLoad) {
    RunningServer server(
        "node: {cpus: 2, memory_mb: 1024, base_memory_mb: 100}\n"
        "functions:\n  - {name: f, behaviour: echo, cost_ms: 300, queue: 4, memory_mb: 10,"
        " replicas: 2, request_memory_mb: 5}\n");
    constexpr double kMb = 1024.0 * 1024.0;
    std::string idle = metrics_of(server);
    EXPECT_EQ(sample(idle, "node_memory_MemTotal_bytes"), 1024 * kMb);
    EXPECT_EQ(sample(idle, "node_memory_MemAvailable_bytes"), (1024 - 100 - 2 * 10) * kMb);
    EXPECT_EQ(sample(idle, "faas_sim_node_cpus"), 2);
    EXPECT_EQ(sample(idle, "faas_sim_node_busy_cpus"), 0);
    EXPECT_LT(sample(idle, "node_cpu_seconds_total{cpu=\"0\",mode=\"user\"}"), 0.001);

    std::vector<std::thread> load;
    for (int i = 0; i < 3; ++i) {
        load.emplace_back([&] { server.client()->Post("/function/f", "x", "text/plain"); });
    }
    ASSERT_TRUE(eventually([&] {
        std::string busy = metrics_of(server);
        return sample(busy, "faas_sim_node_busy_cpus") == 2 &&
               sample(busy, "faas_sim_function_queued_requests{function_name=\"f.openfaas-fn\"}") ==
                   1;
    }));
    std::string busy = metrics_of(server);
    EXPECT_EQ(sample(busy, "node_memory_MemAvailable_bytes"), (1024 - 100 - 2 * 10 - 3 * 5) * kMb);
    EXPECT_EQ(sample(busy, "faas_sim_function_running_requests{function_name=\"f.openfaas-fn\"}"),
              2);
    for (auto &thread : load)
        thread.join();

    std::string after = metrics_of(server);
    const double user = sample(after, "node_cpu_seconds_total{cpu=\"0\",mode=\"user\"}") +
                        sample(after, "node_cpu_seconds_total{cpu=\"1\",mode=\"user\"}");
    EXPECT_NEAR(user, 3 * 0.3, 0.08) << "three requests of 300 ms of CPU";
    const double cpu0 = sample(after, "node_cpu_seconds_total{cpu=\"0\",mode=\"user\"}") +
                        sample(after, "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"}");
    const double cpu1 = sample(after, "node_cpu_seconds_total{cpu=\"1\",mode=\"user\"}") +
                        sample(after, "node_cpu_seconds_total{cpu=\"1\",mode=\"idle\"}");
    EXPECT_NEAR(cpu0, cpu1, 0.01) << "every CPU's modes add up to the same elapsed time";
    EXPECT_EQ(sample(after, "node_memory_MemAvailable_bytes"), (1024 - 100 - 2 * 10) * kMb);
    EXPECT_EQ(sample(after, "faas_sim_node_busy_cpus"), 0);
}

// cAdvisor's series (what the agent's function_cpu_query reads): each function's counter grows
// by cost_ms per request, while a request runs too, and only its own requests count; the
// functions' seconds add up to the node's busy seconds; machine_cpu_cores is the model's CPUs.
TEST(NodeModelServer, FunctionCpuSecondsFollowTheirRequests) {
    RunningServer server(
        "node: {cpus: 3, memory_mb: 1024}\n"
        "functions:\n"
        "  - {name: f, behaviour: echo, cost_ms: 200, queue: 8}\n"
        "  - {name: g, behaviour: echo, cost_ms: 300, queue: 8}\n"
        "  - {name: idle, namespace: other, behaviour: echo, cost_ms: 10}\n");
    const std::string f_series =
        "container_cpu_usage_seconds_total{container=\"f\",namespace=\"openfaas-fn\",pod=\"f-"
        "sim\"}";
    const std::string g_series =
        "container_cpu_usage_seconds_total{container=\"g\",namespace=\"openfaas-fn\",pod=\"g-"
        "sim\"}";
    const std::string idle_series =
        "container_cpu_usage_seconds_total{container=\"idle\",namespace=\"other\",pod=\"idle-"
        "sim\"}";
    std::string before = metrics_of(server);
    EXPECT_EQ(sample(before, "machine_cpu_cores"), 3);
    EXPECT_EQ(sample(before, f_series), 0);
    EXPECT_NE(before.find("# TYPE container_cpu_usage_seconds_total counter\n"), std::string::npos);

    // 4 requests of f (200 ms) and 2 of g (300 ms) on 3 CPUs: 0.8 s and 0.6 s of CPU.
    std::vector<std::thread> load;
    for (int i = 0; i < 6; ++i) {
        load.emplace_back([&, i] {
            server.client()->Post(i < 4 ? "/function/f" : "/function/g", "x", "text/plain");
        });
    }
    // While g's requests run, g's counter grows: they count as they progress.
    ASSERT_TRUE(eventually([&] {
        return sample(metrics_of(server),
                      "faas_sim_function_running_requests{function_name=\"g.openfaas-fn\"}") >= 1;
    }));
    std::this_thread::sleep_for(milliseconds(100));
    EXPECT_GT(sample(metrics_of(server), g_series), 0.05) << "a running request counts already";
    for (auto &thread : load)
        thread.join();

    std::string after = metrics_of(server);
    // The hold is measured, so a loaded machine's late wake-ups add to it: the bounds allow
    // that, and stay below one request more (0.2 s of f, 0.3 s of g).
    EXPECT_GE(sample(after, f_series), 4 * 0.2 - 0.01) << after;
    EXPECT_LT(sample(after, f_series), 5 * 0.2 - 0.02) << after;
    EXPECT_GE(sample(after, g_series), 2 * 0.3 - 0.01) << after;
    EXPECT_LT(sample(after, g_series), 3 * 0.3 - 0.02) << after;
    EXPECT_EQ(sample(after, idle_series), 0);
    double node_busy = 0;
    for (int cpu = 0; cpu < 3; ++cpu)
        node_busy += sample(
            after, "node_cpu_seconds_total{cpu=\"" + std::to_string(cpu) + "\",mode=\"user\"}");
    EXPECT_NEAR(sample(after, f_series) + sample(after, g_series), node_busy, 0.001)
        << "the functions' CPU is the node's busy CPU";
}

// Without `node`, the exposition is what it always was: no node-exporter series.
TEST(NodeModelServer, NoNodeSeriesWithoutANodeModel) {
    RunningServer server("functions:\n  - {name: f, behaviour: echo}\n");
    std::string metrics = metrics_of(server);
    EXPECT_EQ(metrics.find("node_cpu_seconds_total"), std::string::npos);
    EXPECT_EQ(metrics.find("node_memory_"), std::string::npos);
    EXPECT_EQ(metrics.find("faas_sim_node_"), std::string::npos);
    EXPECT_EQ(metrics.find("container_cpu_usage_seconds_total"), std::string::npos);
    EXPECT_EQ(metrics.find("machine_cpu_cores"), std::string::npos);
}

}  // namespace
}  // namespace faas_sim::test
