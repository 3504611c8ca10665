#!/usr/bin/env bash
# yamllint (Debian package yamllint) over the chart's plain-YAML files and the rendered manifests.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
source "$repo/scripts/lib/require_tools.sh"
require_tools deploy yamllint
files=("$repo/deploy/helm/dfaas/Chart.yaml" "$repo/deploy/helm/dfaas/values.yaml" "$repo"/deploy/manifests/*.yaml
       "$repo/tests/deploy/alerts_test.yaml")
yamllint --strict -c "$repo/tests/deploy/yamllint.yaml" "${files[@]}"
echo "${#files[@]} files pass yamllint"
