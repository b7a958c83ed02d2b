#!/usr/bin/env bash
# Set up (scripts/setup.sh: .venv with the compiled codec, Node 22 and
# node-ipc 14 from npm) and run the end-to-end benchmark, bench/e2e/run.py:
# fastipc side by side with node-ipc 14, process to process, over Unix
# sockets and TCP. Arguments go to the runner: --quick for a ~1-2 minute
# run, --runs N, --subjects a,b, --workloads a,b, --transports unix,tcp.
# Results land in bench/results/e2e.json and bench/results/e2e.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# the comparison subjects of the request workload (pyzmq): the bench extra
.venv/bin/python -m pip install --quiet "pyzmq>=25"
exec .venv/bin/python bench/e2e/run.py "$@"
