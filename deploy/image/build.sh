#!/usr/bin/env bash
# Builds dfaas-agent and dfaasctl for the image and stages the image's files under OUT (copied to
# / of the runtime image). The Dockerfile's build stage runs it; tests/deploy/image_test.py runs
# the Dockerfile's steps, this script included, in a scratch directory.
#
#   build.sh SRC BUILD OUT
#
# Environment:
#   DFAAS_JOBS          parallel compile jobs (default 2)
#   DFAAS_VMLINUX_BTF   kernel BTF to generate vmlinux.h from (default /sys/kernel/btf/vmlinux of
#                       the build machine; CO-RE makes the objects run on other kernels)
#   DFAAS_PREBUILT      a build tree of the same sources where dfaas-agent and dfaasctl are
#                       built already (scripts/setup.sh's): staged instead of compiling them again
#                       in BUILD, which is still configured with the image's options (that checks
#                       them). For tests: a full compile takes ~20 min on 2 shared cores.
set -euo pipefail
[[ $# -eq 3 ]] || { echo "usage: build.sh SRC BUILD OUT" >&2; exit 2; }
src=$1 build=$2 out=$3
jobs=${DFAAS_JOBS:-2}

cmake_args=(-DCMAKE_BUILD_TYPE=Release -DDFAAS_BUILD_TESTS=OFF -DDFAAS_BUILD_BENCHMARKS=OFF)
[[ -n "${DFAAS_VMLINUX_BTF:-}" ]] && cmake_args+=("-DDFAAS_VMLINUX_BTF=$DFAAS_VMLINUX_BTF")
cmake -S "$src" -B "$build" "${cmake_args[@]}" >"$build.configure.log" 2>&1 || {
  cat "$build.configure.log" >&2
  exit 1
}

if [[ -n "${DFAAS_PREBUILT:-}" ]]; then
  from=$DFAAS_PREBUILT
  for b in dfaas-agent dfaasctl; do
    [[ -x "$from/bin/$b" ]] || { echo "build.sh: no $from/bin/$b (build the project first)" >&2; exit 1; }
  done
else
  from=$build
  cmake --build "$from" -j"$jobs" --target dfaas-agent dfaasctl
fi

# The image's file tree.
install -D -m 0755 "$from/bin/dfaas-agent" "$out/usr/local/bin/dfaas-agent"
install -D -m 0755 "$from/bin/dfaasctl" "$out/usr/local/bin/dfaasctl"
install -D -m 0755 "$src/deploy/image/entrypoint.sh" "$out/usr/local/bin/dfaas-entrypoint"
# The BPF objects (also embedded in the binaries as skeletons): for bpftool and inspection.
objs=("$from"/bpf-gen/*.bpf.o)
[[ -e "${objs[0]}" ]] || { echo "build.sh: no BPF object under $from/bpf-gen" >&2; exit 1; }
install -d "$out/usr/lib/dfaas/bpf"
install -m 0644 "${objs[@]}" "$out/usr/lib/dfaas/bpf/"
# Mount points and defaults the agent's configuration names.
install -d "$out/etc/dfaas" "$out/var/lib/dfaas" "$out/usr/share/dfaas/forecaster"
install -D -m 0644 "$src/docs/config-reference.md" "$out/usr/share/doc/dfaas/config-reference.md"

# The binaries must start (no missing library in this build environment).
"$out/usr/local/bin/dfaas-agent" --version
"$out/usr/local/bin/dfaasctl" --help >/dev/null
