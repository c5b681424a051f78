#!/usr/bin/env bash
# Set up (scripts/setup.sh), then run the whole test suite, legacy-Caffe parity tests included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
