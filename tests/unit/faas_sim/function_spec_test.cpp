// Functions files: every key, the defaults, both layouts, JSON, and errors that name the problem.
#include <gtest/gtest.h>

#include <filesystem>

#include "faas_sim/function_spec.h"
#include "test_support.h"

namespace faas_sim::test {
namespace {

// The error message parse_functions gives for `yaml`, or "" when it parses.
std::string error_for(const std::string &yaml) {
    try {
        parse_functions(yaml, "bad.yaml", /*strict_json=*/false);
    } catch (const ConfigError &error) {
        return error.what();
    }
    return "";
}

TEST(FunctionSpec, ReadsEveryKey) {
    auto specs = specs_from_yaml(R"(
functions:
  - name: figlet
    namespace: fn
    image: ghcr.io/openfaas/figlet:latest
    envProcess: /usr/bin/figlet
    labels: {dfaas.maxrate: 200, dfaas.port: "31001", dfaas.group: LOW_USAGE, dfaas.timeout_ms: 6000}
    annotations: {com.example/owner: lab}
    env: {write_debug: false}
    limits: {memory: 128Mi, cpu: 100m}
    requests: {memory: 64Mi}
    replicas: 3
    max_inflight: 9
    behaviour: figlet
    cpu_ms: 0.5
    sleep_ms: 40
)");
    ASSERT_EQ(specs.size(), 1u);
    const FunctionSpec &spec = specs[0];
    EXPECT_EQ(spec.name, "figlet");
    EXPECT_EQ(spec.namespace_name, "fn");
    EXPECT_EQ(spec.qualified_name(), "figlet.fn");
    EXPECT_EQ(spec.image, "ghcr.io/openfaas/figlet:latest");
    EXPECT_EQ(spec.env_process, "/usr/bin/figlet");
    EXPECT_EQ(spec.labels.at("dfaas.maxrate"), "200");
    EXPECT_EQ(spec.labels.at("dfaas.port"), "31001");
    EXPECT_EQ(spec.labels.at("dfaas.group"), "LOW_USAGE");
    EXPECT_EQ(spec.labels.at("dfaas.timeout_ms"), "6000");
    EXPECT_EQ(spec.annotations.at("com.example/owner"), "lab");
    EXPECT_EQ(spec.env_vars.at("write_debug"), "false");
    EXPECT_EQ(spec.limits.at("cpu"), "100m");
    EXPECT_EQ(spec.requests.at("memory"), "64Mi");
    EXPECT_EQ(spec.replicas, 3u);
    EXPECT_EQ(spec.max_inflight, 9u);
    EXPECT_EQ(spec.behaviour, Behaviour::Figlet);
    EXPECT_DOUBLE_EQ(spec.cpu_ms, 0.5);
    EXPECT_DOUBLE_EQ(spec.sleep_ms, 40);
}

TEST(FunctionSpec, AppliesDefaultsLikeTheProvider) {
    auto specs = specs_from_yaml("- name: plain\n");
    ASSERT_EQ(specs.size(), 1u);
    const FunctionSpec &spec = specs[0];
    EXPECT_EQ(spec.namespace_name, "openfaas-fn");
    EXPECT_EQ(spec.behaviour, Behaviour::Echo);
    EXPECT_EQ(spec.image, "faas-sim/echo:latest");
    EXPECT_EQ(spec.env_process, "cat");
    EXPECT_EQ(spec.replicas, 1u);
    EXPECT_EQ(spec.max_inflight, 0u) << "unlimited, the watchdog's default";
    EXPECT_EQ(spec.labels.at("faas_function"), "plain");
    EXPECT_EQ(spec.annotations.at("prometheus.io.scrape"), "false");
}

TEST(FunctionSpec, AcceptsAMapFromNameToFunction) {
    auto specs = specs_from_yaml(R"(
functions:
  figlet: {behaviour: figlet}
  shasum: {behaviour: shasum, name: shasum}
)");
    ASSERT_EQ(specs.size(), 2u);
    EXPECT_EQ(specs[0].name, "figlet");
    EXPECT_EQ(specs[1].behaviour, Behaviour::Shasum);
}

TEST(FunctionSpec, AcceptsAnEmptyList) {
    EXPECT_TRUE(specs_from_yaml("functions: []\n").empty());
    EXPECT_TRUE(specs_from_yaml("functions:\n").empty());
}

TEST(FunctionSpec, LoadsJsonFiles) {
    TempFile file("functions.json", R"({
	"functions": [
		{"name": "figlet", "behaviour": "figlet", "replicas": 2, "labels": {"dfaas.maxrate": "50"}}
	]
})");
    auto specs = load_functions_file(file.path());
    ASSERT_EQ(specs.size(), 1u);
    EXPECT_EQ(specs[0].replicas, 2u);
    EXPECT_EQ(specs[0].labels.at("dfaas.maxrate"), "50");
}

TEST(FunctionSpec, ReportsJsonSyntaxErrorsWithTheirPosition) {
    TempFile file("functions.json", "{\n  \"functions\": [\n    {\"name\": \"a\",}\n  ]\n}\n");
    try {
        load_functions_file(file.path());
        FAIL() << "a trailing comma must be rejected";
    } catch (const ConfigError &error) {
        std::string message = error.what();
        EXPECT_NE(message.find(file.path().string()), std::string::npos) << message;
        EXPECT_NE(message.find("invalid JSON"), std::string::npos) << message;
        EXPECT_NE(message.find("line 3"), std::string::npos) << message;
    }
}

TEST(FunctionSpec, ReportsYamlSyntaxErrorsWithTheirLine) {
    std::string message = error_for("functions:\n  - name: a\n    labels: {x: 1\n");
    EXPECT_NE(message.find("invalid YAML"), std::string::npos) << message;
    EXPECT_NE(message.find("bad.yaml:"), std::string::npos) << message;
}

TEST(FunctionSpec, ReportsAMissingFile) {
    try {
        load_functions_file("/nonexistent/functions.yaml");
        FAIL() << "a missing file must be an error";
    } catch (const ConfigError &error) {
        EXPECT_NE(std::string(error.what()).find("/nonexistent/functions.yaml: cannot open"),
                  std::string::npos)
            << error.what();
    }
}

struct BadFile {
    const char *what;
    const char *yaml;
    std::vector<const char *> expected_fragments;
};

// Names the case in gtest's output instead of dumping its bytes.
void PrintTo(const BadFile &bad, std::ostream *out) {
    *out << bad.what;
}

class FunctionSpecErrors : public ::testing::TestWithParam<BadFile> {};

TEST_P(FunctionSpecErrors, NameTheProblem) {
    const BadFile &bad = GetParam();
    std::string message = error_for(bad.yaml);
    ASSERT_FALSE(message.empty()) << bad.what << " was accepted";
    for (const char *fragment : bad.expected_fragments) {
        EXPECT_NE(message.find(fragment), std::string::npos)
            << bad.what << ": '" << fragment << "' missing from: " << message;
    }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, FunctionSpecErrors,
    ::testing::Values(
        BadFile{"empty file", "", {"bad.yaml", "empty"}},
        BadFile{"scalar document", "hello\n", {"expected a list of functions"}},
        BadFile{"unknown top-level key",
                "functions: []\nfunktions: []\n",
                {"bad.yaml:2", "unknown top-level key 'funktions'"}},
        BadFile{"misspelt key",
                "- name: a\n  max_inflght: 3\n",
                {"bad.yaml:2", "functions[0] (a)", "unknown key 'max_inflght'",
                 "did you mean 'max_inflight'"}},
        BadFile{"unrelated key",
                "- name: a\n  colour: blue\n",
                {"unknown key 'colour'", "known keys: name"}},
        BadFile{"duplicate key",
                "- name: a\n  replicas: 1\n  replicas: 2\n",
                {"bad.yaml:3", "duplicate key 'replicas'"}},
        BadFile{"missing name",
                "- behaviour: echo\n",
                {"functions[0]", "missing the required key 'name'"}},
        BadFile{"dotted name", "- name: a.b\n", {"'name' is 'a.b'", "separator"}},
        BadFile{"name not a string", "- name: [a]\n", {"'name' must be a string"}},
        BadFile{"function not a map", "- just-a-name\n", {"functions[0]", "must be a map"}},
        BadFile{"replicas not a number",
                "- name: a\n  replicas: many\n",
                {"bad.yaml:2", "'replicas' must be an integer", "got 'many'"}},
        BadFile{"negative max_inflight",
                "- name: a\n  max_inflight: -1\n",
                {"'max_inflight' must be an integer from 0"}},
        BadFile{"negative cpu_ms", "- name: a\n  cpu_ms: -5\n", {"'cpu_ms' must be a number"}},
        BadFile{
            "sleep_ms not a number", "- name: a\n  sleep_ms: 10ms\n", {"'sleep_ms'", "got '10ms'"}},
        BadFile{"unknown behaviour",
                "- name: a\n  behaviour: dance\n",
                {"bad.yaml:2", "unknown behaviour 'dance'", "figlet, echo"}},
        BadFile{"cpu without cpu_ms",
                "- name: a\n  behaviour: cpu\n",
                {"(a)", "behaviour 'cpu' needs 'cpu_ms'"}},
        BadFile{"sleep without sleep_ms",
                "- name: a\n  behaviour: sleep\n",
                {"behaviour 'sleep' needs 'sleep_ms'"}},
        BadFile{"labels not a map", "- name: a\n  labels: [x]\n", {"'labels' must be a map"}},
        BadFile{"label value a map",
                "- name: a\n  labels: {x: {y: 1}}\n",
                {"'labels.x' must be a string"}},
        BadFile{"bad maxrate",
                "- name: a\n  labels: {dfaas.maxrate: fast}\n",
                {"label 'dfaas.maxrate' is 'fast'"}},
        BadFile{"port out of range",
                "- name: a\n  labels: {dfaas.port: 70000}\n",
                {"label 'dfaas.port' is '70000'", "1 to 65535"}},
        BadFile{"unknown resource",
                "- name: a\n  limits: {gpu: 1}\n",
                {"'limits.gpu' is not a resource"}},
        BadFile{"empty image", "- name: a\n  image: ''\n", {"'image' must not be empty"}},
        BadFile{"duplicate function", "- name: a\n- name: a\n", {"function 'a' is defined twice"}},
        BadFile{
            "duplicate port",
            "- {name: a, labels: {dfaas.port: 31001}}\n- {name: b, labels: {dfaas.port: 31001}}\n",
            {"'a' and 'b' both pin dfaas.port 31001"}},
        BadFile{"name differs from map key",
                "functions:\n  a: {name: b}\n",
                {"'name' is 'b' but the function is listed under 'a'"}}));

TEST(FunctionSpec, ExampleFilesAreValid) {
    size_t files = 0;
    for (const auto &entry : std::filesystem::directory_iterator(FAAS_SIM_EXAMPLES_DIR)) {
        SCOPED_TRACE(entry.path().string());
        FunctionsDocument document;
        ASSERT_NO_THROW(document = load_functions_document(entry.path()));
        EXPECT_FALSE(document.functions.empty());
        ++files;
    }
    EXPECT_GE(files, 4u);
}

}  // namespace
}  // namespace faas_sim::test
