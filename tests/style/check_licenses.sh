#!/usr/bin/env bash
# The license split holds: the BPF programs are GPL-2.0 and say so, everything else is Apache-2.0.
#  - every C source and header under bpf/ carries, in its first two lines, an
#    SPDX-License-Identifier whose expression includes GPL-2.0 (the kernel must see a
#    GPL-compatible program to allow GPL-only helpers);
#  - every *.bpf.c declares a GPL-compatible license section (what the kernel actually reads);
#  - every license id those SPDX lines name has its full text: LICENSE (Apache-2.0) or
#    LICENSES/<id> (the Linux kernel's convention: SPDX ids in the files, texts by id);
#  - LICENSE is the Apache License 2.0 and NOTICE names the split (bpf/ GPL-2.0, the rest Apache-2.0).
# Usage: tests/style/check_licenses.sh [REPO_DIR]   (prints each problem, exits 1 if any)
set -uo pipefail
repo=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$repo" || exit 2

problems=()

# Tracked files plus new ones not yet committed; vmlinux.h is generated and never tracked.
mapfile -t bpf_files < <( { git ls-files -- 'bpf/*.c' 'bpf/*.h';
                            git ls-files --others --exclude-standard -- 'bpf/*.c' 'bpf/*.h'; } |
                          grep -v '/vmlinux\.h$' | sort -u)
if ((${#bpf_files[@]} == 0)); then
  echo "check_licenses: no BPF sources found under $repo/bpf (not a git checkout?)" >&2
  exit 2
fi

declare -A ids_used=()
checked=0
for f in "${bpf_files[@]}"; do
  [[ -f $f ]] || continue
  checked=$((checked + 1))
  spdx=$(head -n 2 "$f" | grep -oE 'SPDX-License-Identifier: [^*]*' | head -n 1)
  if [[ -z $spdx ]]; then
    problems+=("$f: no SPDX-License-Identifier line in its first two lines (add: /* SPDX-License-Identifier: GPL-2.0 */)")
    continue
  fi
  expression=${spdx#SPDX-License-Identifier: }
  if ! grep -qE '(^|[ (])GPL-2\.0(-only)?([ )]|$)' <<<"$expression"; then
    problems+=("$f: SPDX expression '${expression% }' does not include GPL-2.0")
  fi
  for id in $(grep -oE '[A-Za-z0-9.+-]+' <<<"$expression" | grep -vxE 'OR|AND|WITH'); do
    ids_used[$id]=1
  done
  if [[ $f == *.bpf.c ]] &&
     ! grep -qE 'SEC\("license"\)[[:space:]]*=[[:space:]]*"(GPL|GPL v2|Dual BSD/GPL)"' "$f"; then
    problems+=("$f: no GPL-compatible SEC(\"license\") declaration")
  fi
done

for id in "${!ids_used[@]}"; do
  text=LICENSES/${id%-only}
  [[ $id == Apache-2.0 ]] && text=LICENSE
  [[ -s $text ]] || problems+=("license '$id' is used under bpf/ but its text $text is missing")
done

if [[ ! -s LICENSE ]] || ! grep -q 'Apache License' LICENSE || ! grep -q 'Version 2.0, January 2004' LICENSE; then
  problems+=("LICENSE: missing or not the Apache License, Version 2.0")
fi
if [[ ! -s LICENSES/GPL-2.0 ]] || ! grep -q 'GNU GENERAL PUBLIC LICENSE' LICENSES/GPL-2.0 ||
   ! grep -q 'Version 2, June 1991' LICENSES/GPL-2.0; then
  problems+=("LICENSES/GPL-2.0: missing or not the GNU GPL version 2")
fi
if [[ ! -s NOTICE ]]; then
  problems+=("NOTICE: missing")
else
  for word in 'bpf/' 'GPL-2.0' 'Apache-2.0'; do
    grep -qF -- "$word" NOTICE || problems+=("NOTICE: does not name '$word' (it must say which license applies where)")
  done
fi

if ((${#problems[@]})); then
  printf 'check_licenses: %s\n' "${problems[@]}"
  exit 1
fi
echo "check_licenses: $checked BPF sources carry GPL-2.0 SPDX lines; LICENSE, LICENSES/ and NOTICE name the split"
