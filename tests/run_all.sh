#!/usr/bin/env bash
# Runs every test in both build configurations: CUDA compiled when nvcc is
# found (preset "test") and CUDA off (preset "test-cpu"). For each: configure,
# build (the module lands in python/ember), ctest, then pytest on that build.
set -euo pipefail
cd "$(dirname "$0")/.."
for preset in test test-cpu; do
  echo "=== configuration: ${preset} ==="
  cmake --workflow --preset "${preset}"
  PYTHONPATH="${PWD}/python" python -m pytest tests/python -q -p no:cacheprovider
done
