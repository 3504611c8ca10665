// Helpers shared by the faas-sim tests: an in-process server on 127.0.0.1 and temp files.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "faas_sim/function_spec.h"
#include "faas_sim/server.h"

namespace faas_sim::test {

inline std::vector<FunctionSpec> specs_from_yaml(const std::string &yaml) {
    return parse_functions(yaml, "test.yaml", /*strict_json=*/false);
}

// A FaasSimServer on 127.0.0.1 with a kernel-chosen port, serving on a background thread.
class RunningServer {
  public:
    explicit RunningServer(const std::string &functions_yaml, ServerOptions options = {}) {
        options.listen = {"127.0.0.1", 0};
        if (options.node_name.empty()) options.node_name = "test-node";
        server_ = std::make_unique<FaasSimServer>(
            parse_functions_document(functions_yaml, "test.yaml", /*strict_json=*/false), options);
        port_ = server_->bind();
        thread_ = std::thread([this] { server_->serve(); });
    }
    ~RunningServer() {
        server_->stop();
        thread_.join();
    }
    RunningServer(const RunningServer &) = delete;
    RunningServer &operator=(const RunningServer &) = delete;

    int port() const { return port_; }
    std::unique_ptr<httplib::Client> client() const {
        auto client = std::make_unique<httplib::Client>("127.0.0.1", port_);
        client->set_connection_timeout(std::chrono::seconds(5));
        client->set_read_timeout(std::chrono::seconds(10));
        return client;
    }

  private:
    std::unique_ptr<FaasSimServer> server_;
    int port_ = 0;
    std::thread thread_;
};

// A file in a fresh temporary directory, removed with the object.
class TempFile {
  public:
    TempFile(const std::string &name, const std::string &content) {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "faas-sim-test-XXXXXX").string();
        if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        directory_ = pattern;
        path_ = directory_ / name;
        std::ofstream(path_) << content;
    }
    ~TempFile() { std::filesystem::remove_all(directory_); }
    TempFile(const TempFile &) = delete;
    TempFile &operator=(const TempFile &) = delete;

    const std::filesystem::path &path() const { return path_; }

  private:
    std::filesystem::path directory_;
    std::filesystem::path path_;
};

// One sample of a Prometheus exposition (the exact series text before the value); -1 when absent.
inline double sample(const std::string &exposition, const std::string &series) {
    size_t at = exposition.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(exposition.substr(at + series.size() + 2));
}

// The server's /metrics, with a leading newline so that every series starts after one; empty
// when the request failed.
inline std::string metrics_of(const RunningServer &server) {
    auto response = server.client()->Get("/metrics");
    if (!response || response->status != 200) return {};
    return "\n" + response->body;
}

// Polls `condition` every 5 ms until it holds or `timeout` passes.
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return condition();
}

}  // namespace faas_sim::test
