#!/usr/bin/env bash
# Installs the Debian packages a profile needs (idempotent, quiet when nothing is missing), then
# configures and builds into build/.
#   scripts/setup.sh [--profile core|test|bench|deploy|all[,...]] [--no-build] [--list]
# Profiles (several allowed, comma-separated or repeated; core is always included):
#   core    build the project and run the demo (scripts/demo.sh, scripts/lab.sh); the default
#   test    what the test labels need beyond core: clang-format (style), libFuzzer (fuzz),
#           nftables (faults), zsh and fish (shell completion), python3-yaml (deploy checks),
#           graphviz (the architecture diagram check)
#   bench   scripts/bench.sh and its smoke test: wrk, haproxy, iptables; gnuplot, graphviz
#   deploy  the chart checks: Go + sprig + yaml.v2 (Helm's template engine), python3-kubernetes,
#           python3-jsonschema (values.schema.json), yamllint
#   all     every profile (what CI installs: scripts/test.sh without a label)
# --list prints the packages of the chosen profiles and exits.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A PROFILE_PACKAGES=(
  [core]="build-essential cmake pkg-config git clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev
          libcpp-httplib-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libgtest-dev libgmock-dev
          libbenchmark-dev libcli11-dev libssl-dev libyaml-cpp-dev prometheus-cpp-dev
          iproute2 prometheus curl openssl procps psmisc python3 gnuplot-nox"
  [test]="clang-format libclang-rt-14-dev nftables zsh fish python3-yaml graphviz"
  [bench]="wrk haproxy iptables gnuplot-nox graphviz"
  [deploy]="golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v2-dev python3-yaml
            python3-kubernetes python3-jsonschema yamllint"
)
ALL_PROFILES=(core test bench deploy)

usage() {
  sed -n '2,/^set -euo pipefail/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
  exit "${1:-2}"
}

profiles=(core)
build=1
list=0
while (($#)); do
  case "$1" in
    --profile | -p)
      (($# >= 2)) || usage >&2
      IFS=, read -r -a chosen <<<"$2"
      profiles+=("${chosen[@]}")
      shift 2
      ;;
    --profile=*)
      IFS=, read -r -a chosen <<<"${1#--profile=}"
      profiles+=("${chosen[@]}")
      shift
      ;;
    --no-build) build=0; shift ;;
    --list) list=1; shift ;;
    -h | --help) usage 0 ;;
    *) echo "setup: unknown argument '$1'" >&2; usage >&2 ;;
  esac
done

packages=()
declare -A seen=()
for profile in "${profiles[@]}"; do
  if [[ $profile == all ]]; then
    expanded=("${ALL_PROFILES[@]}")
  elif [[ -n "${PROFILE_PACKAGES[$profile]+x}" ]]; then
    expanded=("$profile")
  else
    echo "setup: unknown profile '$profile' (core, test, bench, deploy, all)" >&2
    exit 2
  fi
  for p in "${expanded[@]}"; do
    for pkg in ${PROFILE_PACKAGES[$p]}; do
      [[ -n "${seen[$pkg]+x}" ]] && continue
      seen[$pkg]=1
      packages+=("$pkg")
    done
  done
done
if ((list)); then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
  export DEBIAN_FRONTEND=noninteractive
  apt_log=$(mktemp /tmp/dfaas-setup-apt.XXXXXX.log)
  $SUDO apt-get update -qq >>"$apt_log" 2>&1
  # Say what is coming before apt's quiet minutes: the packages with their dependencies and the
  # download (sizes from apt's own URI list; docs/operations.md#setup-profiles has measured times).
  read -r count bytes < <($SUDO apt-get install -y --no-install-recommends --print-uris \
    "${missing[@]}" 2>/dev/null | awk '/^\x27/ { n++; b += $3 } END { print n + 0, b + 0 }')
  echo "setup: $count packages with their dependencies, $((bytes / 1000000)) MB to download" \
    "(a few minutes; apt's log: $apt_log)" >&2
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$apt_log" 2>&1 || {
    tail -n 20 "$apt_log" >&2
    echo "setup: apt-get install failed (log: $apt_log)" >&2
    exit 1
  }

  # Debian enables and starts the packaged Prometheus as a system service. The lab and the tests
  # run their own instances inside network namespaces and need none on the host: a service this
  # run installed is stopped and disabled, and a marker says setup did it (undo: systemctl enable
  # --now prometheus). A Prometheus that was there before is the machine owner's: left alone (it
  # does not clash: the lab's listen on 127.0.0.1:9090 of their own namespaces).
  if [[ " ${missing[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null 2>&1; then
    marker=${DFAAS_SETUP_STATE_DIR:-/var/lib/dfaas-setup}/installed-prometheus
    $SUDO mkdir -p "$(dirname "$marker")"
    echo "installed by scripts/setup.sh on $(date -u +%FT%TZ); service stopped and disabled" |
      $SUDO tee "$marker" >/dev/null
    if systemctl is-active --quiet prometheus 2>/dev/null; then
      what="stopped and disabled the prometheus service the package started"
    else
      what="disabled the prometheus service the package installed (it was not running)"
    fi
    $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
    echo "setup: $what (marker: $marker)" >&2
  fi
fi

((build)) || exit 0

# The build: its full output goes to the log; the terminal gets one progress line (on a TTY,
# rewritten in place) or a line every 10 % (CI logs), every compiler warning as it happens, and
# on failure the end of the log.
mkdir -p build
log=build/setup-build.log
echo "setup: building into build/ (log: $log)" >&2
tty=0
[[ -t 2 ]] && tty=1
progress() {
  local line percent last=-10 shown=0
  while IFS= read -r line; do
    printf '%s\n' "$line" >>"$log"
    if [[ $line =~ ^\[\ *([0-9]+)%\] ]]; then
      percent=${BASH_REMATCH[1]}
      if ((tty)); then
        printf '\r\033[K  %.*s' "$((${COLUMNS:-100} - 4))" "$line" >&2
        shown=1
      elif ((percent >= last + 10)); then
        last=$((percent / 10 * 10))
        echo "  build: $percent %" >&2
      fi
    elif [[ $line == *"warning:"* ]]; then
      ((shown)) && printf '\r\033[K' >&2
      shown=0
      printf '%s\n' "$line" >&2
    fi
  done
  ((shown)) && printf '\r\033[K' >&2
  return 0
}
: >"$log"
started=$SECONDS
set +e
{
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
    cmake --build build -j"$(nproc)"
} 2>&1 | progress
status=${PIPESTATUS[0]}
set -e
if ((status != 0)); then
  echo "setup: build failed; the end of $log:" >&2
  tail -n 40 "$log" >&2
  exit 1
fi
echo "setup: built in $((SECONDS - started)) s (binaries in build/bin/)" >&2
