#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the whole test suite: unit, integration
# and the node-ipc interop tests, against the compiled codec and the
# pure-Python twin.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Interop tests must not skip in CI: FASTIPC_REQUIRE_NODE makes a missing
# Node peer a failure, FASTIPC_REQUIRE_EXTENSION a missing compiled codec.
export FASTIPC_REQUIRE_NODE=1 FASTIPC_REQUIRE_EXTENSION=1
exec .venv/bin/python -m pytest "$@"
