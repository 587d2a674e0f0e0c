#!/usr/bin/env bash
# One entry point on a fresh machine: sets the machine up (idempotently), builds, then
#   ./topiary.sh prune [options]   runs the main job (topiary prune, defaults: LeNet-5 / Fashion-MNIST)
#   ./topiary.sh test              runs the test suite in two legs (the machine as it is, then oneDNN and
#                                  AVX-512 forced off) and ends with "N passed, N failed" over both
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
    # Two legs: the machine as it is, then as a CPU whose oneDNN convolutions are wrong and that has no AVX-512
    # (TOPIARY_ONEDNN=off TOPIARY_SIMD=avx2), so that both paths are tested on every CPU. TOPIARY_TEST_LEGS=machine
    # runs only the first. Extra arguments go to dotnet test (e.g. --filter). The last line totals both legs.
    # TOPIARY_TEST_LEG names the leg to the tests: the packaging tests (pack, install and run the tool) run in the machine
    # leg only; TOPIARY_SKIP_PACKAGING=1 skips them too.
    total_passed=0; total_failed=0; status=0
    for leg in ${TOPIARY_TEST_LEGS:-machine forced}; do
      case "$leg" in
        machine) leg_env=() ;;
        forced) leg_env=(TOPIARY_ONEDNN=off TOPIARY_SIMD=avx2) ;;
        *) echo "topiary.sh: TOPIARY_TEST_LEGS: unknown leg '$leg' (expected machine, forced)" >&2; echo "0 passed, 1 failed"; exit 2 ;;
      esac
      results="$(mktemp -d)"
      set +e
      env TOPIARY_TEST_LEG="$leg" "${leg_env[@]}" dotnet test tests/Topiary.Tests/Topiary.Tests.csproj -c Release --no-build --nologo \
        --logger "trx;LogFileName=tests.trx" --results-directory "$results" "$@"
      leg_status=$?
      set -e
      counters=$(grep -o '<Counters [^>]*>' "$results/tests.trx" 2>/dev/null | head -n1)
      passed=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
      failed=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
      rm -rf "$results"
      if [ -z "$passed" ]; then passed=0; failed=1; fi
      [ "$leg_status" != 0 ] && [ "$failed" = 0 ] && failed=1
      [ "$leg_status" != 0 ] && status=$leg_status
      echo "leg $leg${leg_env[*]:+ (${leg_env[*]})}: $passed passed, $failed failed"
      total_passed=$((total_passed + passed)); total_failed=$((total_failed + failed))
    done
    echo "$total_passed passed, $total_failed failed"
    exit "$status"
    ;;
  bench)
    exec dotnet bench/Topiary.Bench/bin/Release/net10.0/topiary-bench.dll "$@"
    ;;
  *)
    exec dotnet src/Topiary.Cli/bin/Release/net10.0/Topiary.Cli.dll "$command" "$@"
    ;;
esac
