#include <gtest/gtest.h>

#include <iostream>

#include "harness.h"

int main(int argc, char **argv) {
    ::testing::InitGoogleTest(&argc, argv);
    dfaas::test::setup_environment();
    if (!dfaas::test::environment().ready)
        std::cerr << "BPF tests skipped: " << dfaas::test::environment().why_not << '\n';
    return RUN_ALL_TESTS();
}
