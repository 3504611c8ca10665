#!/usr/bin/env bash
# The DFaaS agent image: build it, save it, give it to k3s.
#
#   build.sh image  [-t TAG] [--dry-run]   build the image from this repository with docker (or
#                                           podman): docker build -f deploy/Dockerfile -t TAG .
#   build.sh save   [-t TAG] [-o FILE] [--dry-run]
#                                           write the image to a tar archive (default
#                                           dfaas-agent.tar) to copy to other nodes
#   build.sh import [-t TAG | -a FILE] [--dry-run]
#                                           on a k3s node, as root: put the image into k3s's
#                                           containerd: docker save TAG | k3s ctr images import -
#                                           or, from an archive: k3s ctr images import FILE
#   build.sh stage  SRC BUILD OUT           what the Dockerfile's build stage runs: build
#                                           dfaas-agent and dfaasctl, stage the image's files
#                                           under OUT (copied to / of the runtime image)
#
# TAG defaults to localhost/dfaas-agent:<the chart's appVersion>, the image the chart's default
# values name (image.repository, image.tag empty = appVersion). --dry-run prints the commands
# (one per line, prefixed "+ ") instead of running them. Exit 2: wrong usage; 1: a step failed or
# a tool is missing (named).
#
# Environment:
#   DFAAS_ENGINE        docker or podman (default: whichever is installed, docker first)
#   DFAAS_JOBS          stage: parallel compile jobs (default 2)
#   DFAAS_VMLINUX_BTF   stage: kernel BTF to generate vmlinux.h from (default /sys/kernel/btf/vmlinux
#                       of the build machine; CO-RE makes the objects run on other kernels)
#   DFAAS_PREBUILT      stage: a build tree of the same sources where dfaas-agent and dfaasctl are
#                       built already (scripts/setup.sh's): staged instead of compiling them again
#                       in BUILD, which is still configured with the image's options (that checks
#                       them). For tests: a full compile takes ~20 min on 2 shared cores.
# tests/deploy/image_test.py runs the Dockerfile's steps, `stage` included, in a scratch directory,
# and checks the other subcommands' usage and dry-run output.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# The header above, without "# ": on stdout for --help, on stderr for a wrong usage (exit 2).
usage() {
  local code=${1:-2}
  if [[ $code -eq 0 ]]; then
    sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  else
    sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  fi
  exit "$code"
}

die() {
  echo "build.sh: $*" >&2
  exit 1
}

default_tag() {
  local version
  version=$(sed -n 's/^appVersion:[[:space:]]*"\{0,1\}\([^"[:space:]]*\)"\{0,1\}.*/\1/p' \
    "$repo/deploy/helm/dfaas/Chart.yaml")
  [[ -n "$version" ]] || die "no appVersion in deploy/helm/dfaas/Chart.yaml"
  echo "localhost/dfaas-agent:$version"
}

# The container engine: DFAAS_ENGINE, else docker, else podman. In a dry run a missing engine is
# shown as docker.
engine() {
  if [[ -n "${DFAAS_ENGINE:-}" ]]; then
    [[ "$DFAAS_ENGINE" == docker || "$DFAAS_ENGINE" == podman ]] ||
      die "DFAAS_ENGINE=$DFAAS_ENGINE: use docker or podman"
    echo "$DFAAS_ENGINE"
  elif command -v docker >/dev/null 2>&1; then
    echo docker
  elif command -v podman >/dev/null 2>&1; then
    echo podman
  elif [[ $dry_run -eq 1 ]]; then
    echo docker
  else
    die "neither docker nor podman is installed (or set DFAAS_ENGINE)"
  fi
}

# Runs (or with --dry-run prints) one shell command line.
run() {
  if [[ $dry_run -eq 1 ]]; then
    echo "+ $1"
  else
    bash -o pipefail -c "$1"
  fi
}

need_k3s() {
  [[ $dry_run -eq 1 ]] && return 0
  command -v k3s >/dev/null 2>&1 ||
    die "k3s not found: run import on a k3s node (or copy the archive to /var/lib/rancher/k3s/agent/images/ there)"
  [[ $EUID -eq 0 ]] || die "import needs root (k3s ctr talks to k3s's containerd socket): run it with sudo"
}

stage() {
  [[ $# -eq 3 ]] || usage
  local src=$1 build=$2 out=$3 from
  local jobs=${DFAAS_JOBS:-2}
  local cmake_args=(-DCMAKE_BUILD_TYPE=Release -DDFAAS_BUILD_TESTS=OFF -DDFAAS_BUILD_BENCHMARKS=OFF)
  [[ -n "${DFAAS_VMLINUX_BTF:-}" ]] && cmake_args+=("-DDFAAS_VMLINUX_BTF=$DFAAS_VMLINUX_BTF")
  cmake -S "$src" -B "$build" "${cmake_args[@]}" >"$build.configure.log" 2>&1 || {
    cat "$build.configure.log" >&2
    exit 1
  }

  if [[ -n "${DFAAS_PREBUILT:-}" ]]; then
    from=$DFAAS_PREBUILT
    for b in dfaas-agent dfaasctl; do
      [[ -x "$from/bin/$b" ]] || die "no $from/bin/$b (build the project first)"
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
  local objs=("$from"/bpf-gen/*.bpf.o)
  [[ -e "${objs[0]}" ]] || die "no BPF object under $from/bpf-gen"
  install -d "$out/usr/lib/dfaas/bpf"
  install -m 0644 "${objs[@]}" "$out/usr/lib/dfaas/bpf/"
  # Mount points and defaults the agent's configuration names.
  install -d "$out/etc/dfaas" "$out/var/lib/dfaas" "$out/usr/share/dfaas/forecaster"
  install -D -m 0644 "$src/docs/config-reference.md" "$out/usr/share/doc/dfaas/config-reference.md"

  # The binaries must start (no missing library in this build environment).
  "$out/usr/local/bin/dfaas-agent" --version
  "$out/usr/local/bin/dfaasctl" --help >/dev/null
}

[[ $# -ge 1 ]] || usage
command=$1
shift
case "$command" in
  stage) stage "$@"; exit 0 ;;
  image | save | import) ;;
  -h | --help | help) usage 0 ;;
  *) echo "build.sh: unknown subcommand '$command' (image, save, import, stage)" >&2; usage ;;
esac

dry_run=0 tag="" archive="" output=dfaas-agent.tar
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dry-run) dry_run=1 ;;
    -h | --help) usage 0 ;;
    -t | --tag) [[ $# -ge 2 && -n "$2" ]] || usage; tag=$2; shift ;;
    -a | --archive) [[ "$command" == import && $# -ge 2 && -n "$2" ]] || usage; archive=$2; shift ;;
    -o | --output) [[ "$command" == save && $# -ge 2 && -n "$2" ]] || usage; output=$2; shift ;;
    *) echo "build.sh $command: unknown argument '$1'" >&2; usage ;;
  esac
  shift
done
[[ -n "$tag" ]] || tag=$(default_tag)

# engine() runs in a subshell here: its refusal must stop the script.
case "$command" in
  image)
    eng=$(engine) || exit 1
    run "$eng build -f $(printf %q "$repo/deploy/Dockerfile") -t $(printf %q "$tag") $(printf %q "$repo")"
    ;;
  save)
    eng=$(engine) || exit 1
    run "$eng save -o $(printf %q "$output") $(printf %q "$tag")"
    ;;
  import)
    need_k3s
    if [[ -n "$archive" ]]; then
      [[ $dry_run -eq 1 || -r "$archive" ]] || die "cannot read $archive"
      run "k3s ctr images import $(printf %q "$archive")"
    else
      eng=$(engine) || exit 1
      run "$eng save $(printf %q "$tag") | k3s ctr images import -"
    fi
    # The kubelet must find it under the name the chart's image.repository:tag gives.
    run "k3s ctr images ls -q | grep -Fx $(printf %q "$tag")" ||
      die "k3s has no image named $tag after the import: set image.repository/image.tag to the name it has (k3s ctr images ls -q)"
    ;;
esac
