#!/usr/bin/env bash
# Rewrites api/<Assembly>.txt, the recorded public API of every Topiary library, from a fresh Release build, and shows
# what changed. Commit api/ together with the change to the API. Checked by tests/Topiary.Tests/Compatibility/PublicApiTests.cs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build Topiary.slnx -c Release -v q
TOPIARY_UPDATE_API=1 dotnet test tests/Topiary.Tests/Topiary.Tests.csproj -c Release --no-build --nologo --filter "FullyQualifiedName~PublicApi"
git --no-pager diff --stat -- api
