#!/usr/bin/env bash
# Set up (scripts/setup.sh), then run the whole test suite, legacy-Caffe parity tests included.
# The docker tests need the private Docker engine and the images of docker/ (`mfv docker setup`: as
# root; installs docker.io if dockerd is missing; images are kept under ~/.cache/mfv-port/docker
# and rebuilt only when their recipe changes). The engine is stopped again afterwards unless it
# was running before. MFV_SKIP_DOCKER=1 leaves Docker out (its tests then skip, or fail under CI).
set -euo pipefail
cd "$(dirname "$0")/.."
engine_home=${MFV_DOCKER_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/mfv-port/docker}
engine_was_running=
if [ -f "$engine_home/dockerd.pid" ] && kill -0 "$(cat "$engine_home/dockerd.pid")" 2>/dev/null; then
  engine_was_running=1
fi
bash scripts/setup.sh
if [ -z "${MFV_SKIP_DOCKER:-}" ]; then
  if [ -z "$engine_was_running" ]; then
    trap '.venv/bin/mfv docker stop' EXIT
  fi
  .venv/bin/mfv docker setup
fi
.venv/bin/python -m pytest "$@"
