#!/usr/bin/env bash
# Set up everything mfv-port needs, idempotently:
#   .venv/  the port's interpreter (torch 2.14.1, torchvision 0.29.1, the rest from constraints.txt)
#   the legacy stacks: a Debian bullseye root with Debian's real Caffe (`mfv legacy setup`) and a
#   Python 2.7 root with the thesis's pins and pycaffe for 2.7 (`mfv legacy setup --stack py27`;
#   needs root and a Debian mirror the first time; users without root use docker/).
set -euo pipefail
cd "$(dirname "$0")/.."

python=${MFV_PYTHON:-}
if [ -z "$python" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then python=$candidate; break; fi
  done
fi
[ -n "$python" ] || { echo "setup: no python3 found (set MFV_PYTHON)" >&2; exit 2; }

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $("$python" --version)"
  "$python" -m venv .venv
fi
echo "setup: installing mfv-port and its pinned dependencies into .venv"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test]"
.venv/bin/mfv legacy setup
.venv/bin/mfv legacy setup --stack py27
