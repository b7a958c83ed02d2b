#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the whole test suite: unit, integration
# and the node-ipc interop tests, against the compiled codec and the
# pure-Python twin; then the Windows lane (named pipes under Wine).
# Arguments go to the Linux pytest run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Interop tests must not skip in CI: FASTIPC_REQUIRE_NODE makes a missing
# Node peer a failure, FASTIPC_REQUIRE_EXTENSION a missing compiled codec.
export FASTIPC_REQUIRE_NODE=1 FASTIPC_REQUIRE_EXTENSION=1
status=0
.venv/bin/python -m pytest "$@" || status=$?
# The Windows lane: named pipes, the shim and node-ipc 14 interop in Windows
# CPython and Windows Node under Wine (scripts/windows_lane.sh). It runs even
# when the Linux suite failed, so one run reports both.
bash scripts/windows_lane.sh || status=$((status ? status : $?))
exit "$status"
