#!/bin/bash
# Entrypoint of the dfaas-agent image (/usr/local/bin/dfaas-entrypoint).
#
#   dfaas-entrypoint [AGENT ARGS...]     check the node, then exec dfaas-agent AGENT ARGS
#   dfaas-entrypoint mount-bpffs DIR [PINDIR]
#                                        mount a bpffs at DIR unless one is there, then create
#                                        PINDIR (inside DIR) on it (init container)
#
# Before starting the agent it
#   1. checks that the kernel's BTF (/sys/kernel/btf/vmlinux, or $ENTRYPOINT_BTF) is readable: the
#      BPF programs are compiled once with CO-RE and relocated against it at load time;
#   2. with AUTODETECT_INTERFACE=1 and no interface set through the environment, finds the
#      interface holding the node's IP (AGENT_NODE_IP) and passes it as DFAAS_INTERFACE;
#   3. validates the configuration (dfaas-agent --check-config) and reads dataplane.bpffs from it;
#   4. makes sure that directory is on a bpffs, mounting one on its parent when missing and
#      permitted (in Kubernetes the agent container sees only the pin directory: the host's
#      bpffs, or the init container, must have put it there);
#   5. execs dfaas-agent ($ENTRYPOINT_AGENT, default from PATH), which becomes the container's main
#      process: SIGTERM reaches it directly, and it stops leaving the data plane attached
#      (connections keep flowing while the pod restarts).
# Uninstalling detaches the data plane explicitly: dfaas-agent --detach (docs/deploy.md).
set -euo pipefail

AGENT="${ENTRYPOINT_AGENT:-dfaas-agent}"
log() { printf 'dfaas-entrypoint: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# on_bpffs DIR: true when DIR is on a bpf filesystem.
on_bpffs() { [[ "$(stat -f -c %T "$1" 2>/dev/null)" == bpf_fs ]]; }

mount_bpffs() {
  local dir=$1
  mkdir -p "$dir" 2>/dev/null || true
  if on_bpffs "$dir"; then
    log "bpffs already mounted at $dir"
    return 0
  fi
  [[ -d "$dir" ]] || die "cannot create $dir for the bpffs"
  if ! mount -t bpf bpf "$dir"; then
    die "no bpffs at $dir and mounting one failed (needs CAP_SYS_ADMIN: run the mount-bpffs init container, or mount it on the host)"
  fi
  log "mounted a bpffs at $dir"
}

if [[ "${1:-}" == mount-bpffs ]]; then
  [[ $# -eq 2 || $# -eq 3 ]] || die "usage: dfaas-entrypoint mount-bpffs DIR [PINDIR]"
  mount_bpffs "$2"
  if [[ $# -eq 3 ]]; then
    [[ "$3" == "$2"/* ]] || die "mount-bpffs: $3 is not inside $2"
    mkdir -p "$3" || die "cannot create the pin directory $3"
    on_bpffs "$3" || die "$3 is not on the bpffs mounted at $2"
  fi
  exit 0
fi

# 1. BTF
btf="${ENTRYPOINT_BTF:-/sys/kernel/btf/vmlinux}"
[[ -r "$btf" ]] || die "$btf is not readable: the kernel needs CONFIG_DEBUG_INFO_BTF=y (CO-RE relocation of the data plane), and the container needs /sys/kernel/btf mounted"

# 2. Interface (before the configuration check, so that it checks what the agent will use).
if [[ "${AUTODETECT_INTERFACE:-}" == 1 && -z "${DFAAS_INTERFACE:-}${DFAAS_DATAPLANE_INTERFACE:-}" ]]; then
  node_ip="${AGENT_NODE_IP:-${DFAAS_NODE_IP:-}}"
  [[ -n "$node_ip" ]] || die "AUTODETECT_INTERFACE=1 needs the node's IP in AGENT_NODE_IP"
  iface=$(ip -o -4 addr show | awk -v ip="$node_ip/" '$3 == "inet" && index($4, ip) == 1 { print $2; exit }')
  [[ -n "$iface" ]] || die "no interface holds the node IP $node_ip (set config.dataplane.interface)"
  export DFAAS_INTERFACE="$iface"
  log "data-plane interface: $iface (holds $node_ip)"
fi

# 3. Configuration: the file comes from --config/-c in the arguments or DFAAS_CONFIG.
config="${DFAAS_CONFIG:-}"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --config | -c) config="${args[i + 1]:-}" ;;
    --config=*) config="${args[i]#--config=}" ;;
  esac
done
check_args=()
[[ -n "$config" ]] && check_args=(--config "$config")
rc=0
effective=$("$AGENT" "${check_args[@]}" --check-config 2>&1) || rc=$?
if ((rc != 0)); then
  printf '%s\n' "$effective" >&2
  die "the configuration${config:+ ($config)} is not valid (exit $rc)"
fi
bpffs=$(awk '/^dataplane:/ { d = 1; next } /^[^ ]/ { d = 0 } d && /^  bpffs:/ { print $2; exit }' <<<"$effective")
bpffs="${bpffs%\"}"
bpffs="${bpffs#\"}"
[[ "$bpffs" == /* ]] || die "cannot read dataplane.bpffs from the effective configuration"

# 4. bpffs: the pin directory must be on a bpffs; mount one on its parent when missing.
parent=$(dirname "$bpffs")
if [[ -d "$bpffs" ]] && on_bpffs "$bpffs"; then
  :
elif [[ -d "$bpffs" ]] && ! on_bpffs "$parent" && [[ -e "$parent" ]] && mountpoint -q "$bpffs"; then
  # Kubernetes mounts only the pin directory: it is a mount point here, and not a bpffs.
  die "$bpffs is not on a bpffs: the host has no bpffs there (mount one on the host, e.g. 'mount -t bpf bpf /sys/fs/bpf', or set bpffsInit.enabled=true)"
elif on_bpffs "$parent"; then
  :
else
  mount_bpffs "$parent"
fi

# 5. The agent replaces this shell.
log "starting $AGENT${config:+ with $config}"
exec "$AGENT" "$@"
