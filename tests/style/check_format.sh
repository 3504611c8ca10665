#!/usr/bin/env bash
# Every C and C++ source the repository tracks is formatted by the repository's .clang-format
# with the pinned clang-format (Debian 12's, major version 14): a formatter of another major
# version lays some constructs out differently, so the check refuses to run with one.
# Usage: tests/style/check_format.sh [REPO_DIR]   (prints the files to reformat, exits 1 if any)
set -uo pipefail
repo=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$repo" || exit 2
PINNED_MAJOR=14

formatter=""
for candidate in clang-format-$PINNED_MAJOR clang-format; do
  if command -v "$candidate" >/dev/null 2>&1; then formatter=$candidate; break; fi
done
if [[ -z $formatter ]]; then
  echo "check_format: clang-format $PINNED_MAJOR not found (scripts/setup.sh --profile test installs it)" >&2
  exit 2
fi
major=$("$formatter" --version | grep -oE 'version [0-9]+' | grep -oE '[0-9]+')
if [[ $major != "$PINNED_MAJOR" ]]; then
  echo "check_format: $formatter is version $major, the tree is formatted with $PINNED_MAJOR" >&2
  exit 2
fi

# Tracked files plus new ones not yet committed (a developer runs this before committing);
# vmlinux.h is generated at build time and never tracked.
mapfile -t files < <( { git ls-files -- '*.c' '*.h' '*.cpp';
                        git ls-files --others --exclude-standard -- '*.c' '*.h' '*.cpp'; } |
                      grep -v '/vmlinux\.h$' | sort -u)
if ((${#files[@]} == 0)); then
  echo "check_format: no sources found under $repo (not a git checkout?)" >&2
  exit 2
fi

# Batches of files per formatter process, one process per core (one process per file spent most
# of this test's time starting clang-format). --dry-run -Werror names each offending file as
# "FILE:LINE:COL: error: code should be clang-formatted"; a file it cannot read fails the same way.
existing=()
for f in "${files[@]}"; do [[ -f $f ]] && existing+=("$f"); done
mapfile -t unformatted < <(
  printf '%s\0' "${existing[@]}" |
    xargs -0 -n 24 -P "$(nproc)" "$formatter" --dry-run -Werror 2>&1 >/dev/null |
    sed -nE 's/^(.+):[0-9]+:[0-9]+: error: .*/\1/p; s/^error: .*(no such file|cannot|could not).* ([^ ]+)$/\2/p' |
    sort -u)
if ((${#unformatted[@]})); then
  printf 'check_format: %d of %d files differ from .clang-format (fix: %s -i FILE):\n' \
    "${#unformatted[@]}" "${#files[@]}" "$formatter"
  printf '  %s\n' "${unformatted[@]}"
  exit 1
fi
echo "check_format: ${#files[@]} files formatted by .clang-format ($formatter $major)"
