#!/usr/bin/env bash
# Runs every test in three build configurations: CUDA compiled when nvcc is
# found (preset "test"), CUDA off ("test-cpu"), and the emulated CUDA device
# ("test-emu": the .cu kernels run on the CPU through the CUDA-on-CPU
# harness, so the Python suites' cuda variants run without a GPU). For each:
# configure, build (the module lands in python/ember), ctest, then pytest on
# that build (only the cuda variants for test-emu: the rest ran already).
set -euo pipefail
cd "$(dirname "$0")/.."
for preset in test test-cpu test-emu; do
  echo "=== configuration: ${preset} ==="
  cmake --workflow --preset "${preset}"
  selection=()
  if [ "${preset}" = test-emu ]; then
    selection=(-k cuda)
    # Every preset writes python/ember/_C in place: make sure this is the emulated one.
    PYTHONPATH="${PWD}/python" python -c \
      "import ember, sys; sys.exit(not ember.backends.cuda.is_emulated())"
  fi
  PYTHONPATH="${PWD}/python" python -m pytest tests/python -q -p no:cacheprovider "${selection[@]}"
done
