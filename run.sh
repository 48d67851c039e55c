#!/usr/bin/env bash
# Set up, build the index of the sample corpus if it is missing, and serve the chat app.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh app
export HF_HUB_OFFLINE=1
exec .venv/bin/python app.py "$@"
