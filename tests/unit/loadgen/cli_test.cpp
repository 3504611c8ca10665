// The dfaas-loadgen binary as scripts use it: exit codes, the JSON schema, the timeline CSV,
// --output, quiet stderr and SIGINT.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test_server.h"

namespace dfaas::loadgen {
namespace {

using testing::http_reply;
using testing::ReceivedRequest;
using testing::TestServer;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct ProcessResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};

std::string read_file(const fs::path &path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

class ScratchDir {
  public:
    ScratchDir() {
        char pattern[] = "/tmp/dfaas-loadgen-test-XXXXXX";
        path_ = mkdtemp(pattern);
    }
    ~ScratchDir() { fs::remove_all(path_); }
    fs::path operator/(const std::string &name) const { return path_ / name; }

  private:
    fs::path path_;
};

// Runs the binary with stdout/stderr sent to files (so stderr is not a terminal), optionally
// sending SIGINT after `interrupt_after`.
ProcessResult run_loadgen(const std::vector<std::string> &args,
                          std::chrono::milliseconds interrupt_after = 0ms) {
    ScratchDir dir;
    fs::path out_path = dir / "stdout";
    fs::path err_path = dir / "stderr";
    pid_t pid = fork();
    if (pid == 0) {
        freopen(out_path.c_str(), "w", stdout);
        freopen(err_path.c_str(), "w", stderr);
        std::vector<char *> argv;
        std::string binary = LOADGEN_BINARY;
        argv.push_back(binary.data());
        std::vector<std::string> copies = args;
        for (std::string &arg : copies)
            argv.push_back(arg.data());
        argv.push_back(nullptr);
        execv(binary.c_str(), argv.data());
        _exit(127);
    }
    if (interrupt_after.count() > 0) {
        std::this_thread::sleep_for(interrupt_after);
        kill(pid, SIGINT);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    ProcessResult result;
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.out = read_file(out_path);
    result.err = read_file(err_path);
    return result;
}

testing::Handler labelled_ok() {
    return [](const ReceivedRequest &request) {
        return http_reply(request.sequence % 5 == 0 ? 429 : 200, "body",
                          {{"DFaaS-Node-ID", "node-a"}});
    };
}

TEST(Binary, JsonReportHasTheDocumentedSchema) {
    TestServer server(labelled_ok());
    ProcessResult run = run_loadgen({"--rate", "50", "--duration", "1s", "--target", server.url(),
                                     "--json", "--body", "abc", "--method", "POST"});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.err, "");  // stderr is not a terminal: no progress line
    nlohmann::json report = nlohmann::json::parse(run.out);

    EXPECT_EQ(report["schema"], "dfaas-loadgen/report/v1");
    for (const char *key : {"started_at", "method"})
        EXPECT_TRUE(report[key].is_string()) << key;
    for (const char *key : {"keepalive", "interrupted"})
        EXPECT_TRUE(report[key].is_boolean()) << key;
    for (const char *key :
         {"timeout", "scheduled", "planned_duration", "requests", "responses", "errors", "duration",
          "attack", "wait", "no_node_id", "connections_opened", "retries"}) {
        EXPECT_TRUE(report[key].is_number_integer()) << key;
    }
    for (const char *key : {"target_rate", "rate", "throughput", "success", "http_200_ratio"}) {
        EXPECT_TRUE(report[key].is_number()) << key;
    }
    for (const char *key : {"total", "min", "mean", "50th", "90th", "95th", "99th", "max"}) {
        EXPECT_TRUE(report["latencies"][key].is_number_integer()) << key;
    }
    for (const char *key : {"mean", "99th", "max"}) {
        EXPECT_TRUE(report["send_lag"][key].is_number_integer()) << key;
    }
    EXPECT_EQ(report["targets"], nlohmann::json::array({server.url()}));
    EXPECT_EQ(report["requests"], 50);
    EXPECT_EQ(report["status_codes"], (nlohmann::json{{"200", 40}, {"429", 10}}));
    EXPECT_EQ(report["served_by"], (nlohmann::json{{"node-a", 50}}));
    EXPECT_EQ(report["bytes_in"]["total"], 200);
    EXPECT_EQ(report["bytes_out"]["total"], 150);
    EXPECT_DOUBLE_EQ(report["success"].get<double>(), 0.8);
    EXPECT_EQ(report["error_kinds"].size(), 10u);
    for (const auto &[kind, count] : report["error_kinds"].items())
        EXPECT_EQ(count, 0) << kind;
    EXPECT_TRUE(report["error_examples"].empty());
}

TEST(Binary, ConnectionErrorsAppearAsStatusZero) {
    ProcessResult run = run_loadgen(
        {"--rate", "20", "--duration", "500ms", "--target", "http://127.0.0.1:1/", "--json"});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    nlohmann::json report = nlohmann::json::parse(run.out);
    EXPECT_EQ(report["status_codes"], (nlohmann::json{{"0", 10}}));
    EXPECT_EQ(report["error_kinds"]["refused"], 10);
    EXPECT_TRUE(report["error_examples"]["refused"].is_string());
}

TEST(Binary, TimelineCsvHasOneRowPerSecond) {
    TestServer server(labelled_ok());
    ScratchDir dir;
    fs::path timeline = dir / "timeline.csv";
    ProcessResult run = run_loadgen({"--rate", "40", "--duration", "2500ms", "--target",
                                     server.url(), "--timeline", timeline.string(), "--quiet"});
    ASSERT_EQ(run.exit_code, 0) << run.err;

    std::istringstream csv(read_file(timeline));
    std::string header;
    std::getline(csv, header);
    EXPECT_EQ(header,
              "second,issued,completed,errors,success,http_200,p50_ms,p99_ms,lag_max_ms,"
              "code_200,code_429,served_by_node-a,p50_ms_node-a,p99_ms_node-a");
    std::vector<std::string> rows;
    for (std::string row; std::getline(csv, row);)
        rows.push_back(row);
    ASSERT_EQ(rows.size(), 3u);
    uint64_t issued = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
        std::istringstream fields(rows[i]);
        std::string second;
        std::string count;
        std::getline(fields, second, ',');
        std::getline(fields, count, ',');
        EXPECT_EQ(second, std::to_string(i));
        issued += std::stoul(count);
    }
    EXPECT_EQ(issued, 100u);
    EXPECT_TRUE(rows[0].starts_with("0,40,40,0,"));
    EXPECT_TRUE(rows[2].starts_with("2,20,20,0,"));
}

// Up to 400/s over 250 ms and back down to 0 over 250 ms: 50 requests in each half, written
// inline and as a k6 script. (The schedule's timing inside a ramp is checked in ramp_test.cpp.)
TEST(Binary, RampSendsTheIntegralOfTheRate) {
    TestServer server(labelled_ok());
    ScratchDir dir;
    fs::path stages = dir / "stages.js";
    std::ofstream(stages) << "export const options = { scenarios: { up_down: {\n"
                             "  executor: 'ramping-arrival-rate', timeUnit: '1s',\n"
                             "  stages: [{ duration: '250ms', target: 400 }, { duration: '250ms', "
                             "target: 0 }] } } };\n";
    for (const std::vector<std::string> &form :
         {std::vector<std::string>{"--ramp", "250ms:400,250ms:0"},
          std::vector<std::string>{"--stages-file", stages.string()}}) {
        std::vector<std::string> args = form;
        args.insert(args.end(), {"--target", server.url(), "--json"});
        ProcessResult run = run_loadgen(args);
        ASSERT_EQ(run.exit_code, 0) << run.err;
        nlohmann::json report = nlohmann::json::parse(run.out);
        EXPECT_EQ(report["scheduled"], 100) << form[0];
        EXPECT_EQ(report["requests"], 100) << form[0];
        EXPECT_EQ(report["planned_duration"], 500'000'000) << form[0];
        EXPECT_EQ(report["status_codes"]["200"], 80) << form[0];  // every 5th is a 429
    }
}

// Every other request is served by a node that answers 60 ms late: its latency columns say so,
// the other node's do not.
TEST(Binary, TimelineHasLatencyPerServingNode) {
    TestServer server([](const ReceivedRequest &request) {
        bool slow = request.sequence % 2 == 1;
        testing::Reply reply =
            http_reply(200, "ok", {{"DFaaS-Node-ID", slow ? "node-b" : "node-a"}});
        if (slow) reply.delay = 60ms;
        return reply;
    });
    ScratchDir dir;
    fs::path timeline = dir / "timeline.csv";
    ProcessResult run = run_loadgen({"--rate", "40", "--duration", "500ms", "--target",
                                     server.url(), "--timeline", timeline.string(), "--quiet"});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    std::istringstream csv(read_file(timeline));
    std::string header, row;
    std::getline(csv, header);
    std::getline(csv, row);
    EXPECT_TRUE(header.ends_with(
        "served_by_node-a,served_by_node-b,p50_ms_node-a,p99_ms_node-a,p50_ms_node-b,"
        "p99_ms_node-b"))
        << header;
    std::vector<std::string> cells;
    std::istringstream fields(row);
    for (std::string cell; std::getline(fields, cell, ',');)
        cells.push_back(cell);
    ASSERT_EQ(cells.size(), 16u) << row;
    EXPECT_EQ(cells[10], "10");  // served by node-a
    EXPECT_EQ(cells[11], "10");
    EXPECT_LT(std::stod(cells[12]), 30.0) << row;  // node-a p50: immediate
    EXPECT_GE(std::stod(cells[14]), 60.0) << row;  // node-b p50 and p99: 60 ms late
    EXPECT_GE(std::stod(cells[15]), 60.0) << row;
}

// A server naming a new node in every response gets latency columns for the first 32 only; every
// node is still counted.
TEST(Binary, LatencyPerNodeIsBounded) {
    TestServer server([](const ReceivedRequest &request) {
        return http_reply(200, "ok", {{"DFaaS-Node-ID", "n" + std::to_string(request.sequence)}});
    });
    ScratchDir dir;
    fs::path timeline = dir / "timeline.csv";
    ProcessResult run = run_loadgen({"--rate", "80", "--duration", "500ms", "--target",
                                     server.url(), "--timeline", timeline.string(), "--quiet"});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    std::istringstream csv(read_file(timeline));
    std::string header;
    std::getline(csv, header);
    auto count = [&](const std::string &prefix) {
        size_t found = 0;
        for (size_t at = header.find(prefix); at != std::string::npos;
             at = header.find(prefix, at + 1))
            ++found;
        return found;
    };
    EXPECT_EQ(count(",served_by_n"), 40u);
    EXPECT_EQ(count(",p50_ms_n"), 32u);
    EXPECT_EQ(count(",p99_ms_n"), 32u);
}

TEST(Binary, OutputFlagWritesTheReportToAFile) {
    TestServer server(labelled_ok());
    ScratchDir dir;
    fs::path report = dir / "report.txt";
    ProcessResult run = run_loadgen({"--rate", "10", "--duration", "500ms", "--target",
                                     server.url(), "--output", report.string()});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.out, "");
    std::string text = read_file(report);
    EXPECT_NE(text.find("Requests      [total, rate, throughput]"), std::string::npos);
    EXPECT_NE(text.find("Status Codes"), std::string::npos);
    EXPECT_NE(text.find(" 200:4  429:1\n"), std::string::npos) << text;
    EXPECT_NE(text.find("node-a:5"), std::string::npos);
}

TEST(Binary, UsageErrorsExitWithTwoAndSayWhy) {
    struct Case {
        std::vector<std::string> args;
        std::string message;
    };
    std::vector<Case> cases = {
        {{"--rate", "10", "--duration", "1s"}, "--target"},
        {{"--rate", "0", "--duration", "1s", "--target", "http://127.0.0.1:9/"}, "--rate"},
        {{"--rate", "10", "--duration", "1s", "--target", "https://127.0.0.1/"}, "https"},
        {{"--stages", "0-1s:5,2-3s:5", "--target", "http://127.0.0.1:9/"}, "contiguous"},
        {{"--rate", "10", "--duration", "1s", "--target", "http://127.0.0.1:9/", "--timeline",
          "/nonexistent-dir/t.csv"},
         "--timeline"},
        {{"--unknown-flag"}, "--unknown-flag"},
        {{"--ramp", "30s:100,1m:abc", "--target", "http://127.0.0.1:9/"},
         "--ramp stage 2 '1m:abc'"},
        {{"--ramp", "1s:5", "--stages", "0-1s:5", "--target", "http://127.0.0.1:9/"},
         "give one of --stages, --ramp and --stages-file"},
        {{"--ramp", "1s:5", "--rate", "5", "--target", "http://127.0.0.1:9/"},
         "--ramp replaces --rate"},
        {{"--rate", "5", "--duration", "1s", "--start-rate", "5", "--target",
          "http://127.0.0.1:9/"},
         "--start-rate applies only with --ramp"},
        {{"--stages-file", "/nonexistent/stages.js", "--target", "http://127.0.0.1:9/"},
         "cannot read --stages-file '/nonexistent/stages.js'"},
        {{"--rate", "5", "--duration", "169h", "--target", "http://127.0.0.1:9/"},
         "--duration must be at most"},
    };
    for (const Case &c : cases) {
        ProcessResult run = run_loadgen(c.args);
        EXPECT_EQ(run.exit_code, 2) << c.message;
        EXPECT_NE(run.err.find("dfaas-loadgen: error:"), std::string::npos) << run.err;
        EXPECT_NE(run.err.find(c.message), std::string::npos) << run.err;
    }
    ProcessResult help = run_loadgen({"--help"});
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_NE(help.out.find("--keepalive"), std::string::npos);
    ProcessResult version = run_loadgen({"--version"});
    EXPECT_EQ(version.exit_code, 0);
    EXPECT_EQ(version.out.rfind("dfaas-loadgen ", 0), 0u) << version.out;
}

TEST(Binary, SigintStopsEarlyAndStillReports) {
    TestServer server(labelled_ok());
    auto started = std::chrono::steady_clock::now();
    ProcessResult run = run_loadgen(
        {"--rate", "100", "--duration", "60s", "--target", server.url(), "--json"}, 700ms);
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_LT(elapsed, 2.0);
    nlohmann::json report = nlohmann::json::parse(run.out);
    EXPECT_TRUE(report["interrupted"].get<bool>());
    EXPECT_GT(report["requests"].get<int>(), 30);
    EXPECT_LT(report["requests"].get<int>(), 200);
    EXPECT_EQ(report["requests"].get<uint64_t>(), server.request_count());
}

}  // namespace
}  // namespace dfaas::loadgen
