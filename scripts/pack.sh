#!/usr/bin/env bash
# Packs Topiary into OUTDIR (default artifacts/packages):
#   Topiary.VERSION.nupkg                  the core library (depends on TorchSharp and Microsoft.Extensions.Logging.Abstractions)
#   Topiary.Inference.VERSION.nupkg        sparse files, kernels and exporters (depends on Topiary)
#   Topiary.Experiments.VERSION.nupkg      catalogue models, corpora, BLEU, the experiment pipeline and compare (depends on both)
#   Topiary.Cli.VERSION.nupkg              the dotnet tool "topiary": a pointer to its RID-specific packages
#   Topiary.Cli.linux-x64.VERSION.nupkg    the tool for linux-x64, with that platform's libtorch (about 130 MB)
# Usage: scripts/pack.sh [OUTDIR] [dotnet pack options...], e.g. '-p:ToolPackageRuntimeIdentifiers="linux-x64;win-x64"'.
# It builds in a throwaway folder (under TMPDIR), deleted on exit, so the work tree's bin/ and obj/ are left alone and
# the ~2 GB that building and publishing the tool writes do not stay behind. Packing the tool restores the RID's .NET
# runtime pack into the NuGet cache once (the SDK asks for it whenever RuntimeIdentifiers are set).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$here/artifacts/packages}"
[ $# -gt 0 ] && shift
mkdir -p "$out"
out="$(cd "$out" && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

build="$(mktemp -d "${TMPDIR:-/tmp}/topiary-pack.XXXXXX")"
trap 'rm -rf "$build"' EXIT
touch "$build/started"

for project in src/Topiary/Topiary.csproj src/Topiary.Inference/Topiary.Inference.csproj src/Topiary.Experiments/Topiary.Experiments.csproj src/Topiary.Cli/Topiary.Cli.csproj; do
  # No build servers: nothing is left running after the script, which tests rely on.
  dotnet pack "$here/$project" -c Release -o "$out" -p:UseArtifactsOutput=true -p:ArtifactsPath="$build/" \
    --disable-build-servers --nologo -v quiet -clp:ErrorsOnly "$@"
done
find "$out" -maxdepth 1 -name '*.nupkg' -newer "$build/started" -printf '%f %s bytes\n' | sort
