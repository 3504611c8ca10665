// dfaas-config-keys: prints the configuration key list, to regenerate docs/config-reference.md
// (--markdown) or to compare with the Helm chart's values (--json).
#include <cstdio>
#include <cstring>

#include "dfaas/config/config_keys.h"

int main(int argc, char **argv) {
    if (argc == 2 && std::strcmp(argv[1], "--markdown") == 0) {
        std::fputs(dfaas::config_keys_markdown().c_str(), stdout);
        return 0;
    }
    if (argc == 2 && std::strcmp(argv[1], "--json") == 0) {
        std::fputs(dfaas::config_keys_json().c_str(), stdout);
        return 0;
    }
    std::fprintf(stderr, "usage: %s --markdown|--json\n", argv[0]);
    return 1;
}
