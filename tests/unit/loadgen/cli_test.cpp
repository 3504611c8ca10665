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
              "code_200,code_429,served_by_node-a");
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
