#!/usr/bin/env bash
# Measures what a new user waits for on a fresh Debian 12 machine: scripts/setup.sh per profile
# (packages only: megabytes downloaded and seconds), once the build of core, and scripts/demo.sh.
#   scripts/measure_fresh_setup.sh [--root DIR] [--mirror URL] [--variant V] [--profiles LIST]
#                                  [--no-build] [--no-demo] [--worktree-setup]
# Needs root, debootstrap (apt-get install debootstrap) and network to the Debian mirror; it is a
# measurement, not a test (scripts/test.sh does not run it). Takes about an hour on 2 cores.
#
# It makes a Debian bookworm root with debootstrap (default variant: the required and important
# packages, what a minimal installation without tasks has; a cloud image adds e.g. sudo, curl,
# ca-certificates, cloud-init), with the main, updates and security suites. Then, for each
# profile, a pristine copy of it with /proc, /sys, /dev, /dev/pts bound and the host's
# resolv.conf, a `git clone` of this repository (its committed HEAD) into /root/dfaas, and
# `scripts/setup.sh --profile P --no-build` in a chroot, timed together with an `apt-get update`
# run just before it (setup.sh's own then finds the lists current). Downloaded megabytes (10^6
# bytes) are the .debs apt fetched plus the lists apt-get update reports fetched. Then, in the
# core copy, `scripts/setup.sh` (the build, under the shared build lock /tmp/dfaas-build.lock)
# and `scripts/demo.sh` (under /tmp/dfaas-lab.lock). Everything it mounted is unmounted and the roots deleted on exit; the
# logs stay in /tmp/measure_fresh_setup.*.
#   --root DIR        where the roots go (default /work/fresh-root; must not exist)
#   --mirror URL      Debian mirror (default: the host's deb.debian.org)
#   --variant V       debootstrap variant: default or minbase (default: default)
#   --profiles LIST   space-separated setup profiles (default: "core core,test core,bench
#                     core,deploy all")
#   --worktree-setup  use this checkout's scripts/setup.sh instead of the committed one
#   --no-build, --no-demo  skip those steps
set -euo pipefail
cd "$(dirname "$0")/.."
source_repo=$PWD

root_base=/work/fresh-root
mirror=http://deb.debian.org/debian
security_mirror=http://deb.debian.org/debian-security
variant=default
profiles="core core,test core,bench core,deploy all"
do_build=1
do_demo=1
worktree_setup=0
usage() {
  sed -n '2,/^set -euo pipefail/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
  exit "${1:-2}"
}
while (($#)); do
  case "$1" in
    --root) root_base=$2; shift 2 ;;
    --mirror) mirror=$2; shift 2 ;;
    --variant) variant=$2; shift 2 ;;
    --profiles) profiles=$2; shift 2 ;;
    --worktree-setup) worktree_setup=1; shift ;;
    --no-build) do_build=0; shift ;;
    --no-demo) do_demo=0; shift ;;
    -h | --help) usage 0 ;;
    *) echo "measure: unknown argument '$1'" >&2; usage >&2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "measure: needs root (debootstrap, chroot, mounts)" >&2; exit 1; }
command -v debootstrap >/dev/null || {
  echo "measure: debootstrap missing (apt-get install debootstrap)" >&2
  exit 1
}
[[ ! -e $root_base ]] || { echo "measure: $root_base exists; remove it or pass --root" >&2; exit 1; }

# Each copy is bound onto itself (`ip netns exec`, which the lab uses, needs "/" to be a mount
# point) and made private (nothing mounted inside reaches the host); unmounting it recursively
# takes everything mounted inside with it, also what the lab mounted (netns, bpffs).
mounted=()
cleanup() {
  local dir
  for dir in "${mounted[@]}"; do
    umount -R -l "$dir" 2>/dev/null || true
  done
  rm -rf --one-file-system "$root_base"
}
trap cleanup EXIT

log() { printf '%s  %s\n' "$(date -u +%T)" "$*" >&2; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
megabytes() { du -cb "$@" 2>/dev/null | awk 'END {printf "%.0f", $1 / 1e6}'; }

commit=$(git -C "$source_repo" rev-parse --short HEAD)
logs=$(mktemp -d /tmp/measure_fresh_setup.XXXXXX)
export logs
pristine=$root_base/pristine
mkdir -p "$root_base"
log "debootstrap bookworm ($variant variant) from $mirror into $pristine"
started=$SECONDS
variant_arg=()
[[ $variant == default ]] || variant_arg=(--variant="$variant")
debootstrap "${variant_arg[@]}" bookworm "$pristine" "$mirror" >"$logs/debootstrap.log" 2>&1 ||
  { tail -n 20 "$logs/debootstrap.log" >&2; exit 1; }
cat >"$pristine/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security_mirror bookworm-security main
EOF
# No service may start inside the chroot: it shares the host's network (a Debian Prometheus would
# take the host's port 9090). On a real machine the package starts it and setup stops it again.
printf '#!/bin/sh\nexit 101\n' >"$pristine/usr/sbin/policy-rc.d"
chmod +x "$pristine/usr/sbin/policy-rc.d"
chroot "$pristine" apt-get clean
rm -rf "$pristine"/var/lib/apt/lists/*
log "debootstrap: $((SECONDS - started)) s, $(megabytes "$pristine") MB on disk"

# A copy of the pristine root with the kernel file systems bound and this repository cloned.
prepare() {
  local dir=$1 m
  cp -a "$pristine" "$dir"
  mount --bind "$dir" "$dir"
  mounted+=("$dir")
  mount --make-rprivate "$dir"
  for m in proc sys dev dev/pts; do
    mount --bind "/$m" "$dir/$m"
    mount --make-private "$dir/$m"
  done
  cp -L /etc/resolv.conf "$dir/etc/resolv.conf"
  git clone -q "$source_repo" "$dir/root/dfaas"
  if ((worktree_setup)); then
    cp "$source_repo/scripts/setup.sh" "$dir/root/dfaas/scripts/setup.sh"
  fi
}
in_root() {
  local dir=$1
  shift
  chroot "$dir" /usr/bin/env -i HOME=/root TERM=dumb PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    bash -c "cd /root/dfaas && $*"
}
release() {
  local dir=$1 i
  umount -R -l "$dir" || true
  for i in "${!mounted[@]}"; do
    [[ ${mounted[i]} != "$dir" ]] || unset 'mounted[i]'
  done
  rm -rf --one-file-system "$dir"
}

results=()
core_dir=
for profile in $profiles; do
  dir=$root_base/${profile//,/+}
  prepare "$dir"
  log "profile $profile: scripts/setup.sh --profile $profile --no-build (load $(loadavg))"
  started=$SECONDS
  if ! in_root "$dir" "apt-get update && scripts/setup.sh --profile $profile --no-build" \
    >"$logs/${dir##*/}.log" 2>&1; then
    tail -n 20 "$logs/${dir##*/}.log" >&2
    results+=("$profile | FAILED | | | $(loadavg)")
    release "$dir"
    continue
  fi
  seconds=$((SECONDS - started))
  debs=$(megabytes "$dir"/var/cache/apt/archives/*.deb)
  # "Fetched 16.2 MB in 6s (2,701 kB/s)"
  lists=$(awk '/^Fetched / {v = $2; gsub(",", "", v); f = ($3 == "kB") ? 1e-3 : ($3 == "GB") ? 1e3 : 1;
                            printf "%.0f", v * f}' "$logs/${dir##*/}.log")
  count=$(find "$dir"/var/cache/apt/archives -maxdepth 1 -name '*.deb' | wc -l)
  results+=("$profile | $seconds s | $((debs + ${lists:-0})) MB ($count packages $debs MB, lists ${lists:-?} MB) | $(loadavg)")
  log "profile $profile: $seconds s, $debs MB of $count .debs + ${lists:-?} MB lists"
  if [[ $profile == core && $do_build -eq 1 ]]; then
    core_dir=$dir
  else
    release "$dir"
  fi
done

if [[ -n $core_dir ]]; then
  log "build of core in the chroot, waiting for /tmp/dfaas-build.lock"
  build_result=FAILED
  if flock /tmp/dfaas-build.lock bash -c '
      load=$(cut -d" " -f1-3 /proc/loadavg); started=$SECONDS
      "$@" >"$logs/build.log" 2>&1 || exit 1
      echo "$((SECONDS - started)) s (load at start $load, at end $(cut -d" " -f1-3 /proc/loadavg))" \
        >"$logs/build.time"' _ \
      chroot "$core_dir" /usr/bin/env -i HOME=/root TERM=dumb PATH=/usr/sbin:/usr/bin:/sbin:/bin \
      bash -c 'cd /root/dfaas && scripts/setup.sh'; then
    build_result=$(cat "$logs/build.time")
  else
    tail -n 20 "$logs/build.log" >&2
  fi
  log "build: $build_result"
  results+=("build of core (scripts/setup.sh) | $build_result")
  if ((do_demo)) && [[ $build_result != FAILED ]]; then
    # The lab needs a bpffs and netns mount points of the chroot's own.
    mount -t bpf bpf "$core_dir/sys/fs/bpf"
    mkdir -p "$core_dir/run"
    log "scripts/demo.sh in the chroot, waiting for /tmp/dfaas-lab.lock"
    demo_result=FAILED
    if flock /tmp/dfaas-lab.lock bash -c '
        load=$(cut -d" " -f1-3 /proc/loadavg); started=$SECONDS
        "$@" >"$logs/demo.log" 2>&1 || exit 1
        echo "$((SECONDS - started)) s (load at start $load, at end $(cut -d" " -f1-3 /proc/loadavg))" \
          >"$logs/demo.time"' _ \
        chroot "$core_dir" /usr/bin/env -i HOME=/root TERM=dumb PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        bash -c 'cd /root/dfaas && scripts/demo.sh'; then
      demo_result=$(cat "$logs/demo.time")
    else
      tail -n 30 "$logs/demo.log" >&2
    fi
    log "demo: $demo_result"
    results+=("scripts/demo.sh | $demo_result")
  fi
  release "$core_dir"
fi

echo
echo "Fresh Debian bookworm ($variant variant), mirror $mirror, commit $commit$( ((worktree_setup)) &&
  echo ' + working-tree scripts/setup.sh'), $(date -u +%F), $(nproc) cores"
echo "profile | setup --no-build | downloaded | load average at the end"
printf '%s\n' "${results[@]}"
echo "logs: $logs"
