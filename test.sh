#!/usr/bin/env bash
# Set up (with the test extras and a headless Chromium) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh test

if ! command -v chromium >/dev/null 2>&1; then
  echo "Installing Chromium for the browser tests"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
fi

export HF_HUB_OFFLINE=1
exec .venv/bin/python -m pytest "$@"
