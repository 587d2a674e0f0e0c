#!/usr/bin/env bash
# One entry point on a fresh machine: sets the machine up (idempotently), builds, then
#   ./topiary.sh prune [options]   runs the main job (topiary prune, defaults: LeNet-5 / Fashion-MNIST)
#   ./topiary.sh test              runs the test suite and ends with "N passed, N failed"
#   ./topiary.sh bench step        runs the training-step benchmark
#   ./topiary.sh <any topiary command and options>
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

command="${1:-prune}"
[ $# -gt 0 ] && shift

if ! bash scripts/bootstrap.sh; then
  [ "$command" = test ] && echo "0 passed, 1 failed"
  exit 1
fi

case "$command" in
  test)
    results="$(mktemp -d)"
    set +e
    dotnet test tests/Topiary.Tests/Topiary.Tests.csproj -c Release --no-build --nologo \
      --logger "trx;LogFileName=tests.trx" --results-directory "$results" "$@"
    status=$?
    set -e
    counters=$(grep -o '<Counters [^>]*>' "$results/tests.trx" 2>/dev/null | head -n1)
    passed=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
    failed=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
    rm -rf "$results"
    if [ -z "$passed" ]; then passed=0; failed=1; fi
    [ "$status" != 0 ] && [ "$failed" = 0 ] && failed=1
    echo "$passed passed, $failed failed"
    exit "$status"
    ;;
  bench)
    exec dotnet bench/Topiary.Bench/bin/Release/net10.0/topiary-bench.dll "$@"
    ;;
  *)
    exec dotnet src/Topiary.Cli/bin/Release/net10.0/Topiary.Cli.dll "$command" "$@"
    ;;
esac
