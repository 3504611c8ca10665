// vegeta targets files (dfaas-loadgen --targets-file): the format, the limits (each at the limit
// and one over), errors with line numbers, and a run sending each target's own request.
#include "dfaas/loadgen/vegeta_targets.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "dfaas/loadgen/cli.h"
#include "dfaas/loadgen/duration.h"
#include "dfaas/loadgen/engine.h"
#include "test_server.h"

namespace dfaas::loadgen {
namespace {

namespace fs = std::filesystem;
using testing::http_reply;
using testing::ReceivedRequest;
using testing::TestServer;

class Scratch {
  public:
    Scratch() {
        char pattern[] = "/tmp/dfaas-vegeta-targets-test-XXXXXX";
        path_ = mkdtemp(pattern);
    }
    ~Scratch() { fs::remove_all(path_); }
    std::string write(const std::string &name, const std::string &text) const {
        fs::path path = path_ / name;
        std::ofstream(path, std::ios::binary) << text;
        return path.string();
    }

  private:
    fs::path path_;
};

std::string error_of(const std::string &text) {
    try {
        parse_vegeta_targets(text, "targets.txt");
    } catch (const UsageError &e) {
        return e.what();
    }
    return "(no error)";
}

std::string repeated(const std::string &line, size_t times) {
    std::string text;
    for (size_t i = 0; i < times; ++i)
        text += line;
    return text;
}

TEST(VegetaTargets, ReadsTheHttpFormat) {
    Scratch scratch;
    std::string body = scratch.write("thing.json", "{\"name\": \"DFaaS\"}");
    std::vector<VegetaTarget> targets = parse_vegeta_targets(
        "# the reference's load, one line per target\n"
        "GET http://127.0.0.1:8001/function/funca\n"
        "GET http://127.0.0.1:8002/function/funca\n"
        "\n"
        "POST http://10.77.0.1:31001/function/figlet?x=1\n"
        "Content-Type: application/json\n"
        "  X-Account-ID: 8675309  \r\n"
        "# a comment inside a target\n"
        "@" +
            body +
            "\n"
            "DELETE http://h:9090/things\n",
        "targets.txt");
    ASSERT_EQ(targets.size(), 4u);
    EXPECT_EQ(targets[0].line, 2u);
    EXPECT_EQ(targets[0].method, "GET");
    EXPECT_EQ(targets[0].url, "http://127.0.0.1:8001/function/funca");
    EXPECT_TRUE(targets[0].headers.empty());
    EXPECT_EQ(targets[1].url, "http://127.0.0.1:8002/function/funca");
    EXPECT_EQ(targets[2].line, 5u);
    EXPECT_EQ(targets[2].method, "POST");
    using Header = std::pair<std::string, std::string>;
    EXPECT_EQ(targets[2].headers, (std::vector<Header>{{"Content-Type", "application/json"},
                                                       {"X-Account-ID", "8675309"}}));
    EXPECT_EQ(targets[2].body, "{\"name\": \"DFaaS\"}");
    EXPECT_EQ(targets[2].body_path, body);
    EXPECT_EQ(targets[3].line, 10u);
    EXPECT_EQ(targets[3].method, "DELETE");
    EXPECT_TRUE(targets[3].body.empty());
}

TEST(VegetaTargets, ErrorsNameTheLine) {
    EXPECT_EQ(error_of("GET http://a/\nFETCH http://b/\n"),
              "targets.txt line 2: expected a header 'Name: value', '@BODY_FILE' or the next "
              "'METHOD URL' (GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS), got "
              "'FETCH http://b/'");
    EXPECT_EQ(error_of("\nX-Header: 1\n"),
              "targets.txt line 2: expected 'METHOD URL' (GET, POST, PUT, PATCH, DELETE, HEAD or "
              "OPTIONS), got 'X-Header: 1'");
    EXPECT_NE(error_of("get http://a/\n").find("line 1: expected 'METHOD URL'"), std::string::npos);
    EXPECT_NE(error_of("GET https://a/\n").find("targets.txt line 1: "), std::string::npos);
    EXPECT_EQ(error_of("GET http://a/ extra\n"),
              "targets.txt line 1: expected 'METHOD URL', got more after the URL");
    EXPECT_NE(
        error_of("GET http://a/\nno colon here\n").find("targets.txt line 2: expected a header"),
        std::string::npos);
    EXPECT_EQ(error_of("GET http://a/\nX-Bad@Name: 1\n"),
              "targets.txt line 2: invalid --header 'X-Bad@Name: 1': expected 'Name: value'");
    EXPECT_NE(error_of("GET http://a/\nContent-Length: 3\n").find("line 2: --header"),
              std::string::npos);
    EXPECT_EQ(error_of("POST http://a/\n@\n"), "targets.txt line 2: '@' without a body file name");
    EXPECT_NE(error_of("POST http://a/\n@/nonexistent/dfaas-body\n")
                  .find("targets.txt line 2: cannot read body file '/nonexistent/dfaas-body'"),
              std::string::npos);
    // After a body the target is complete: a header line there starts nothing.
    Scratch scratch;
    std::string body = scratch.write("b", "x");
    EXPECT_NE(error_of("POST http://a/\n@" + body + "\nX-After: 1\n").find("line 3: expected"),
              std::string::npos);
    EXPECT_EQ(error_of("# only a comment\n\n"), "targets.txt: no targets");
    EXPECT_EQ(error_of(std::string("GET http://a/\n\0", 15)),
              "targets.txt holds a NUL byte: not a text file");
}

TEST(VegetaTargets, TargetsAreBounded) {
    std::string line = "GET http://127.0.0.1/\n";
    EXPECT_EQ(parse_vegeta_targets(repeated(line, kMaxTargetsFileTargets), "t").size(),
              kMaxTargetsFileTargets);
    EXPECT_EQ(error_of(repeated(line, kMaxTargetsFileTargets + 1)),
              "targets.txt line 10001: more than 10000 targets");
}

TEST(VegetaTargets, HeadersAreBounded) {
    std::string text = "GET http://a/\n" + repeated("X-H: v\n", kMaxTargetHeaders);
    EXPECT_EQ(parse_vegeta_targets(text, "t")[0].headers.size(), kMaxTargetHeaders);
    EXPECT_EQ(error_of(text + "X-H: v\n"),
              "targets.txt line 66: more than 64 headers for the target of line 1");
}

TEST(VegetaTargets, LinesAreBounded) {
    std::string prefix = "GET http://a/";
    std::string at_limit = prefix + std::string(kMaxTargetsFileLineBytes - prefix.size(), 'x');
    EXPECT_EQ(parse_vegeta_targets(at_limit + "\n", "t")[0].url.size(),
              kMaxTargetsFileLineBytes - 4);
    EXPECT_EQ(error_of("\n" + at_limit + "x\n"), "targets.txt line 2: line longer than 8192 bytes");
}

TEST(VegetaTargets, FileSizeIsBounded) {
    // Comment lines fill the file to the limit exactly, then one byte more.
    std::string head = "GET http://a/\n";
    std::string filler(kMaxTargetsFileBytes - head.size() - 1, '#');
    for (size_t i = 1000; i < filler.size(); i += 1000)
        filler[i] = '\n';
    Scratch scratch;
    std::string at_limit = scratch.write("at", head + filler + "\n");
    ASSERT_EQ(fs::file_size(at_limit), kMaxTargetsFileBytes);
    EXPECT_EQ(read_vegeta_targets_file(at_limit).size(), 1u);
    std::string over = scratch.write("over", head + filler + "\n\n");
    try {
        read_vegeta_targets_file(over);
        ADD_FAILURE() << "a file over the limit was read";
    } catch (const UsageError &e) {
        EXPECT_EQ(std::string(e.what()),
                  "--targets-file '" + over + "' is larger than 1048576 bytes");
    }
}

TEST(VegetaTargets, BodiesAreBounded) {
    Scratch scratch;
    std::string at_limit = scratch.write("at", std::string(kMaxTargetBodyBytes, 'b'));
    std::string over = scratch.write("over", std::string(kMaxTargetBodyBytes + 1, 'b'));
    EXPECT_EQ(parse_vegeta_targets("POST http://a/\n@" + at_limit + "\n", "t")[0].body.size(),
              kMaxTargetBodyBytes);
    EXPECT_EQ(error_of("POST http://a/\n@" + over + "\n"),
              "targets.txt line 2: body file '" + over + "' is larger than 16777216 bytes");
    // Four bodies at the limit are the total's limit; a fifth byte more is refused.
    std::string four = repeated("POST http://a/\n@" + at_limit + "\n", 4);
    EXPECT_EQ(parse_vegeta_targets(four, "t").size(), 4u);
    std::string one = scratch.write("one", "1");
    EXPECT_EQ(error_of(four + "POST http://a/\n@" + one + "\n"),
              "targets.txt line 10: the bodies of the file add up to more than 67108864 bytes");
}

CommandLine parse(const std::vector<std::string> &args) {
    std::vector<const char *> argv{"dfaas-loadgen"};
    for (const std::string &arg : args)
        argv.push_back(arg.c_str());
    return parse_command_line(static_cast<int>(argv.size()), argv.data());
}

std::string cli_error(const std::vector<std::string> &args) {
    try {
        parse(args);
    } catch (const UsageError &e) {
        return e.what();
    }
    return "(no error)";
}

TEST(VegetaTargets, CommandLine) {
    Scratch scratch;
    std::string file = scratch.write("t",
                                     "GET http://127.0.0.1:1/a\nPOST http://127.0.0.1:2/b\n"
                                     "X-Test: 1\n");
    CommandLine line = parse({"--rate", "1", "--duration", "1s", "--targets-file", file});
    const std::vector<Target> &targets = line.options.config.targets;
    ASSERT_EQ(targets.size(), 2u);
    ASSERT_TRUE(targets[1].request.has_value());
    EXPECT_EQ(targets[1].url, "http://127.0.0.1:2/b");
    EXPECT_EQ(targets[1].request->method, "POST");
    EXPECT_EQ(targets[1].request->headers.size(), 1u);
    for (std::string flag : {"--method", "--body"}) {
        EXPECT_EQ(cli_error({"--rate", "1", "--duration", "1s", "--targets-file", file, flag, "x"}),
                  flag +
                      " does not apply with --targets-file (the file gives each target's "
                      "method and body)");
    }
    EXPECT_EQ(cli_error({"--rate", "1", "--duration", "1s", "--targets-file", file, "--target",
                         "http://127.0.0.1/"}),
              "give --target or --targets-file, not both");
    std::string unresolvable = scratch.write("u", "\nGET http://no-such-host.invalid/\n");
    EXPECT_NE(cli_error({"--rate", "1", "--duration", "1s", "--targets-file", unresolvable})
                  .find("--targets-file '" + unresolvable + "' line 2: "),
              std::string::npos);
}

TEST(VegetaTargets, EachTargetSendsItsOwnRequest) {
    TestServer server([](const ReceivedRequest &) { return http_reply(200); });
    Scratch scratch;
    std::string body = scratch.write("body", "DFaaS");
    std::string file = scratch.write("t", "GET " + server.url("/function/a") +
                                              "\nX-Run: 7\n\nPOST " + server.url("/function/b") +
                                              "\nContent-Type: text/plain\n@" + body + "\n");
    CommandLine line = parse({"--rate", "100", "--duration", "100ms", "--targets-file", file,
                              "--header", "X-All: yes", "--quiet"});
    LoadGenerator generator(std::move(line.options.config));
    RunResult result = generator.run();
    EXPECT_EQ(result.method, "GET,POST");
    EXPECT_EQ(result.totals.bytes_out, 5u * 5u);  // 5 of the 10 requests carry the body
    std::vector<ReceivedRequest> received = server.received();
    ASSERT_EQ(received.size(), 10u);
    size_t gets = 0, posts = 0;
    for (const ReceivedRequest &request : received) {
        EXPECT_EQ(request.headers.at("x-all"), "yes");
        if (request.method == "GET") {
            ++gets;
            EXPECT_EQ(request.path, "/function/a");
            EXPECT_EQ(request.headers.at("x-run"), "7");
            EXPECT_EQ(request.body, "");
        } else {
            ++posts;
            EXPECT_EQ(request.method, "POST");
            EXPECT_EQ(request.path, "/function/b");
            EXPECT_EQ(request.headers.at("content-type"), "text/plain");
            EXPECT_EQ(request.headers.count("x-run"), 0u);
            EXPECT_EQ(request.body, "DFaaS");
        }
    }
    EXPECT_EQ(gets, 5u);
    EXPECT_EQ(posts, 5u);
}

}  // namespace
}  // namespace dfaas::loadgen
