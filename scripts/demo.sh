#!/usr/bin/env bash
# The main job: set up (scripts/setup.sh), then `python -m fastipc demo`: a
# server and several worker processes on a private socket root exchanging
# events, with messages per second printed each second. Arguments go to the
# demo (--workers N, --seconds S).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m fastipc demo "$@"
