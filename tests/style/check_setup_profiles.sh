#!/usr/bin/env bash
# scripts/setup.sh's profiles hold what the tests and scripts use, and scripts/test.sh knows which
# profiles each test label needs:
#  - every tool named below, and every tool a `require_tools PROFILE TOOL` call in the tree asks
#    for, is installed by a package (dpkg -S) of that profile or of core (always installed);
#  - every ctest label of the build tree has an entry in scripts/test.sh's LABEL_PROFILES;
#  - every package of every profile exists as installed here (CI installs them all).
# Usage: tests/style/check_setup_profiles.sh REPO_DIR BUILD_DIR
set -uo pipefail
repo=${1:?usage: $0 REPO_DIR BUILD_DIR}
build=$(cd "${2:?usage: $0 REPO_DIR BUILD_DIR}" && pwd) || exit 2
cd "$repo" || exit 2

# Tools the tests and scripts use, and the profile that must install them.
TOOLS=(
  clang:core bpftool:core ip:core prometheus:core promtool:core curl:core gnuplot:core
  python3:core openssl:core
  clang-format:test nft:test zsh:test fish:test dot:test
  wrk:bench haproxy:bench iptables:bench
  go:deploy yamllint:deploy
)
while read -r profile tool; do
  TOOLS+=("$tool:$profile")
done < <(grep -rhoE --include='*.sh' 'require_tools [a-z]+ [a-z0-9_.+-]+' scripts tests |
         grep -v 'PROFILE' | awk '{print $2, $3}' | sort -u)

problems=()
# allowed[PROFILE/PKG]: the profile's packages and what they depend on directly (clang brings
# clang-14, golang-go golang-1.19-go, ...): a tool may come from either.
declare -A in_profile=() allowed=()
for profile in core test bench deploy; do
  if ! list=$(scripts/setup.sh --list --profile "$profile"); then
    problems+=("scripts/setup.sh --list --profile $profile failed")
    continue
  fi
  for pkg in $list; do in_profile["$profile/$pkg"]=1; done
  # shellcheck disable=SC2086
  while read -r pkg deps; do
    allowed["$profile/$pkg"]=1
    for dep in $(sed -E 's/\([^)]*\)//g; s/[,|]/ /g' <<<"$deps"); do
      allowed["$profile/${dep%%:*}"]=1
    done
  done < <(dpkg-query -W -f='${Package} ${Depends} ${Pre-Depends}\n' $list 2>/dev/null)
done

# The Debian binary, not a shim in front of it (pyenv); usrmerge: packages may list /bin or
# /sbin; alternatives: the link's target may belong to the versioned package. One dpkg -S for all.
declare -A tool_paths=()
all_paths=()
for entry in "${TOOLS[@]}"; do
  tool=${entry%%:*}
  [[ -n "${tool_paths[$tool]+x}" ]] && continue
  tool_paths[$tool]=""
  for dir in /usr/bin /usr/sbin /bin /sbin; do
    if [[ -e $dir/$tool ]]; then
      tool_paths[$tool]+="$dir/$tool $(readlink -f "$dir/$tool") "
    fi
  done
  all_paths+=(${tool_paths[$tool]:-})
done
declare -A owners_of=()
while IFS= read -r line; do
  owners_of[${line#*: }]+="$(cut -d: -f1 <<<"${line%%: *}" | tr -d ' ' | tr ',' ' ') "
done < <(printf '%s\n' "${all_paths[@]}" | sort -u | xargs dpkg -S 2>/dev/null | sort -u)

for entry in "${TOOLS[@]}"; do
  tool=${entry%%:*} profile=${entry#*:}
  if [[ -z "${tool_paths[$tool]:-}" ]]; then
    problems+=("$tool ($profile) is not installed here")
    continue
  fi
  owners=()
  for path in ${tool_paths[$tool]}; do owners+=(${owners_of[$path]:-}); done
  mapfile -t owners < <(printf '%s\n' "${owners[@]}" | sed '/^$/d' | sort -u)
  ok=0
  for pkg in "${owners[@]}"; do
    pkg=${pkg%%:*}
    [[ -n "${allowed[core/$pkg]+x}" || -n "${allowed[$profile/$pkg]+x}" ]] && ok=1
  done
  ((ok)) || problems+=("$tool comes from ${owners[*]:-no package}, which neither profile $profile nor core installs")
done

mapfile -t labels < <(cd "$build" && ctest --print-labels 2>/dev/null | sed -n 's/^  //p')
if ((${#labels[@]} == 0)); then
  problems+=("no ctest labels found in $build")
fi
for label in "${labels[@]}"; do
  grep -qE "\[$label\]=" scripts/test.sh ||
    problems+=("label '$label' has no entry in scripts/test.sh's LABEL_PROFILES")
done

declare -A packages=()
for key in "${!in_profile[@]}"; do packages[${key#*/}]=1; done
installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${!packages[@]}" 2>/dev/null |
            awk '/install ok installed/ {print $1}')
for pkg in "${!packages[@]}"; do
  grep -qx "$pkg" <<<"$installed" || problems+=("package $pkg of scripts/setup.sh is not installed")
done

if ((${#problems[@]})); then
  printf 'check_setup_profiles: %s\n' "${problems[@]}"
  exit 1
fi
echo "check_setup_profiles: ${#TOOLS[@]} tools come from their profiles' packages;" \
     "${#labels[@]} labels mapped in scripts/test.sh; ${#packages[@]} profile packages installed"
