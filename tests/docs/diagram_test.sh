#!/usr/bin/env bash
# docs/img/architecture.svg is what docs/img/architecture.dot renders (scripts/render_docs.sh),
# and the diagram matches the code: every map it names exists in bpf/lib/maps.h, every map the
# data plane pins is in it, and the ports it shows are the configuration's defaults
# (docs/config-reference.md, which tests/unit/agent_config keeps equal to the key registry).
# Exit 77 (skipped) when graphviz is missing, except in CI (CI or DFAAS_TESTS_REQUIRE_ROOT=1),
# where a missing tool is a failure.
set -uo pipefail
repo=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
dot_src="$repo/docs/img/architecture.dot"
svg="$repo/docs/img/architecture.svg"
maps_h="$repo/bpf/lib/maps.h"
config_ref="$repo/docs/config-reference.md"

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
ok() { echo "ok   - $*"; }

for f in "$dot_src" "$svg" "$maps_h" "$config_ref"; do
  [[ -s $f ]] || fail "${f#"$repo"/} is missing or empty"
done
((failures == 0)) || exit 1

# ---- the diagram against the code (no graphviz needed) ----------------------------------------

# Maps of the data plane, "name pinned|unpinned", from the struct blocks of maps.h.
mapfile -t code_maps < <(awk '
  /^struct *\{/ { pinned = 0; inblock = 1 }
  inblock && /LIBBPF_PIN_BY_NAME/ { pinned = 1 }
  inblock && /^\} *[a-z_0-9]+ *SEC\("\.maps"\)/ {
    name = $2; print name, (pinned ? "pinned" : "unpinned"); inblock = 0
  }' "$maps_h")
((${#code_maps[@]} > 0)) || fail "no maps found in bpf/lib/maps.h (has its layout changed?)"
declare -A in_code=()
for m in "${code_maps[@]}"; do in_code[${m% *}]=${m#* }; done

mapfile -t drawn_maps < <(grep -v '^ *//' "$dot_src" | grep -oE 'dfaas_[a-z0-9_]+' | sort -u)
declare -A in_dot=()
for m in "${drawn_maps[@]}"; do
  in_dot[$m]=1
  [[ -n ${in_code[$m]:-} ]] || fail "the diagram names map '$m', which bpf/lib/maps.h does not define"
done
missing=()
for m in "${!in_code[@]}"; do
  [[ ${in_code[$m]} == pinned && -z ${in_dot[$m]:-} ]] && missing+=("$m")
done
if ((${#missing[@]})); then
  fail "pinned maps of bpf/lib/maps.h missing from the diagram: ${missing[*]}"
else
  ok "maps: the ${#drawn_maps[@]} maps the diagram names exist, every pinned map is drawn"
fi

# default PORT of a key, from its row in the configuration reference.
default_of() {
  awk -F'|' -v key="\`$1\`" '{ k = $2; gsub(/^ +| +$/, "", k) } k == key { print $4; exit }' "$config_ref"
}
check_port() {
  local key=$1 port=$2 default
  default=$(default_of "$key")
  if [[ $default != *"$port"* ]]; then
    fail "the diagram shows $port for $key, the configuration's default is '${default:-?}'"
  elif ! grep -v '^ *//' "$dot_src" | grep -q -- "$port"; then
    fail "the diagram does not show $key's default port $port"
  fi
}
check_port api.listen 9080
check_port api.health_listen 9081
check_port peers.listen_port 30090
check_port dataplane.gateway 8080
check_port prometheus.url 9090
check_port dataplane.function_ports 31000-31999
ok "ports: API 9080, health 9081, peers 30090, gateway 8080, Prometheus 9090, function ports 31000-31999"

grep -q '](img/architecture.svg)' "$repo/docs/architecture.md" ||
  fail "docs/architecture.md does not show img/architecture.svg"

# ---- the committed SVG is the rendering of the source --------------------------------------

if ! command -v dot >/dev/null 2>&1; then
  if [[ -n ${CI:-} || ${DFAAS_TESTS_REQUIRE_ROOT:-} == 1 ]]; then
    fail "graphviz (dot) is not installed: CI must install it (scripts/setup.sh, profile test)"
    exit 1
  fi
  echo "graphviz (dot) is not installed: the SVG check is skipped (apt-get install graphviz)" >&2
  ((failures == 0)) || exit 1
  exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$(dirname "$dot_src")" && dot -Tsvg "$(basename "$dot_src")" -o "$tmp/rendered.svg") ||
  fail "dot cannot render docs/img/architecture.dot"

# What a reader sees: the titles (nodes and edges) and every text, in order. Coordinates may
# differ by a font or a graphviz release; the content may not.
content() { grep -oE '<(title|text)[^>]*>[^<]*' "$1" | sed -E 's/<(title|text)[^>]*>/\1: /'; }
if [[ -s $tmp/rendered.svg ]]; then
  if cmp -s "$tmp/rendered.svg" "$svg"; then
    ok "docs/img/architecture.svg is byte for byte what architecture.dot renders"
  elif diff <(content "$tmp/rendered.svg") <(content "$svg") >"$tmp/diff"; then
    ok "docs/img/architecture.svg has the content architecture.dot renders (layout differs: $(dot -V 2>&1))"
  else
    fail "docs/img/architecture.svg is not what architecture.dot renders: run scripts/render_docs.sh --diagrams"
    head -20 "$tmp/diff" >&2
  fi
fi

((failures == 0)) || exit 1
echo "diagram: all checks passed"
