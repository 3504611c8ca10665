#!/usr/bin/env bash
# Installs every Debian package the project needs (idempotent, quiet when nothing is missing),
# then configures and builds into build/. Usage: scripts/setup.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  # build (libclang-rt-14-dev: libFuzzer for the peer-message fuzz target)
  build-essential cmake pkg-config git clang clang-format llvm libclang-rt-14-dev libbpf-dev bpftool
  libelf-dev
  zlib1g-dev
  # libraries
  libcpp-httplib-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libgtest-dev libgmock-dev
  libbenchmark-dev libcli11-dev libssl-dev libyaml-cpp-dev prometheus-cpp-dev
  # runtime tools used by tests, the lab, the demo and the benchmarks
  iproute2 iptables prometheus haproxy wrk curl procps psmisc gnuplot-nox python3 python3-yaml
  # deploy tests: the Helm chart rendered with Go's template engine and sprig (what Helm uses),
  # Kubernetes API models for schema checks, yamllint
  golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v2-dev python3-kubernetes
  yamllint
  # fault-injection suite (scripts/faults.sh): nft partitions a lab node
  nftables
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian enables and starts the packaged Prometheus as a service; the lab and tests run their
# own instances, so make sure a stray system one does not hold port 9090 on the host.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
  systemctl stop prometheus >/dev/null 2>&1 || true
fi

[[ "${1:-}" == "--no-build" ]] && exit 0

# Quiet on success; on failure print the build log.
mkdir -p build
log=build/setup-build.log
if ! { cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build build -j"$(nproc)"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "setup: build failed (log: $log)" >&2
  exit 1
fi
grep -E "warning:" "$log" >&2 || true
