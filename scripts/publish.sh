#!/usr/bin/env bash
# Builds the single-file, self-contained executable: artifacts/linux-x64/l4p (no .NET needed to run it).
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet publish src/L4P.Host -p:PublishProfile=linux-x64 "$@"
ls -l artifacts/linux-x64/l4p
artifacts/linux-x64/l4p --version
