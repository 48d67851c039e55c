#!/usr/bin/env bash
# Create .venv and install the project into it; quick when nothing changed.
# Usage: scripts/setup.sh [app|test]
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-app}"
python="${PYTHON:-python3}"

if [ ! -x .venv/bin/python ]; then
  echo "Creating .venv with $("$python" --version)"
  "$python" -m venv .venv
fi

stamp=".venv/.installed-$extra"
wanted="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
  exit 0
fi

echo "Installing dependencies into .venv (the first time takes a few minutes)"
.venv/bin/pip install --quiet --upgrade pip
# The CPU build of torch first: left to the resolver, torch brings several GB of CUDA packages.
.venv/bin/pip install --quiet "torch==2.13.0"
if [ "$extra" = "test" ]; then
  .venv/bin/pip install --quiet -e ".[test]"
else
  .venv/bin/pip install --quiet -e .
fi
echo "$wanted" > "$stamp"
