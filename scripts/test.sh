#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the whole test suite: unit, integration,
# fault and the node-ipc interop tests, against the compiled codec and the
# pure-Python twin, with branch coverage reported at the end; then the
# Windows lane (named pipes under Wine).
# Arguments go to the Linux pytest run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Interop tests must not skip in CI: FASTIPC_REQUIRE_NODE makes a missing
# Node peer a failure, FASTIPC_REQUIRE_EXTENSION a missing compiled codec.
export FASTIPC_REQUIRE_NODE=1 FASTIPC_REQUIRE_EXTENSION=1
status=0
# Branch coverage of fastipc (the pure-Python layer; child processes the
# tests start are measured too), reported after the run.
.venv/bin/python -m coverage erase
.venv/bin/python -m coverage run -m pytest "$@" || status=$?
.venv/bin/python -m coverage combine --quiet || true
echo "branch coverage of fastipc (tests above; the Windows-only winpipe.py runs in the Windows lane, unmeasured):"
.venv/bin/python -m coverage report || true
# The Windows lane: named pipes, the shim and node-ipc 14 interop in Windows
# CPython and Windows Node under Wine (scripts/windows_lane.sh). It runs even
# when the Linux suite failed, so one run reports both.
bash scripts/windows_lane.sh || status=$((status ? status : $?))
exit "$status"
