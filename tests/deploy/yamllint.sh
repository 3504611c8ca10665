#!/usr/bin/env bash
# yamllint (Debian package yamllint) over the chart's plain-YAML files and the rendered manifests.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
if ! command -v yamllint >/dev/null 2>&1; then
  echo "yamllint is not installed: skipped" >&2
  exit 77
fi
files=("$repo/deploy/helm/dfaas/Chart.yaml" "$repo/deploy/helm/dfaas/values.yaml" "$repo"/deploy/manifests/*.yaml
       "$repo/tests/deploy/alerts_test.yaml")
yamllint --strict -c "$repo/tests/deploy/yamllint.yaml" "${files[@]}"
echo "${#files[@]} files pass yamllint"
