#!/usr/bin/env bash
# Set up (scripts/setup.sh: .venv with the compiled codec, Node 22 and
# node-ipc from npm) and run the codec benchmark, bench/codec_bench.py.
# Arguments go to the benchmark: --quick for a smoke run, --runs N, --n N.
# Results land in bench/results/codec.json and bench/results/codec.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python bench/codec_bench.py "$@"
