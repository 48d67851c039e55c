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
  exec scripts/bases.sh
fi

echo "Installing dependencies into .venv (the first time takes a few minutes)"
.venv/bin/pip install --quiet --upgrade pip
# torch first, so that the resolver does not pick it: PyPI's torch for Linux brings several GB of
# CUDA packages. The CPU build comes from PyTorch's own index; TORCH_INDEX_URL names another (a CUDA
# build's), and TORCH_INDEX_URL="" leaves the choice to pip's own configuration. A torch 2.13.0
# already in .venv is kept, whichever build it is.
torch_version='import importlib.metadata as m; print(m.version("torch").split("+")[0])'
if [ "$(.venv/bin/python -c "$torch_version" 2>/dev/null)" != "2.13.0" ]; then
  torch_index="${TORCH_INDEX_URL-https://download.pytorch.org/whl/cpu}"
  # Asked once: an index that cannot be reached would otherwise be retried for every package.
  if [ -n "$torch_index" ] && ! .venv/bin/python -c 'import sys, urllib.request
urllib.request.urlopen(sys.argv[1].rstrip("/") + "/torch/", timeout=10)' "$torch_index" 2>/dev/null; then
    echo "$torch_index cannot be reached; taking torch from pip's own configuration"
    torch_index=""
  fi
  .venv/bin/pip install --quiet "torch==2.13.0" ${torch_index:+--extra-index-url "$torch_index"}
fi
if [ "$extra" = "test" ]; then
  .venv/bin/pip install --quiet -e ".[test]"
else
  .venv/bin/pip install --quiet -e .
fi
echo "$wanted" > "$stamp"
exec scripts/bases.sh
