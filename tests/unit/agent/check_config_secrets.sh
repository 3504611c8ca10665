#!/usr/bin/env bash
# dfaas-agent --check-config refuses short secrets and secret files others may read (issue 14):
# 15 bytes refused, 16 accepted (the limit and the limit - 1), mode 0640 refused, naming the key.
set -uo pipefail
AGENT=${1:?usage: check_config_secrets.sh DFAAS_AGENT}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
failures=0
expect() { # expect RC KEY-TEXT DESCRIPTION -- config args
  local want=$1 text=$2 what=$3 out rc=0
  out=$("$AGENT" --config "$dir/agent.yaml" --check-config 2>&1) || rc=$?
  if [[ $rc -eq $want && ( -z $text || $out == *"$text"* ) ]]; then
    echo "ok   - $what"
  else
    echo "FAIL - $what (exit $rc, want $want): ${out:0:300}"
    failures=$((failures + 1))
  fi
}
write_key() { printf '%s' "$1" >"$dir/key"; chmod "$2" "$dir/key"; }
cat >"$dir/agent.yaml" <<YAML
node: {ip: 10.0.0.1, id: n1, state_file: $dir/state.json}
peers: {cluster_key_file: $dir/key}
YAML
write_key 0123456789abcde 600
expect 2 "peers.cluster_key_file" "a 15-byte cluster key is refused, naming the key"
write_key 0123456789abcdef 600
expect 0 "" "a 16-byte cluster key with mode 0600 is accepted"
write_key 0123456789abcdef 640
expect 2 "mode 0640" "a cluster key readable by the group is refused"
printf 'api: {token_file: %s/key}\n' "$dir" >>"$dir/agent.yaml"
sed -i '/cluster_key_file/d' "$dir/agent.yaml"
write_key short-token 600
expect 2 "api.token_file" "an 11-byte API token is refused, naming the key"
echo "$((4 - failures)) passed, $failures failed"
((failures == 0))
