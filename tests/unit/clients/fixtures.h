// Reads a file under tests/fixtures/ (fails the test when it is missing).
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

inline std::string read_fixture(const std::string &relative_path) {
    std::string path = std::string(DFAAS_FIXTURES_DIR) + "/" + relative_path;
    std::ifstream file(path);
    EXPECT_TRUE(file.good()) << "missing fixture " << path;
    std::ostringstream content;
    content << file.rdbuf();
    return content.str();
}
