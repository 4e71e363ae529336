"""Entry point of `python -m bench.gpu`: the GPU benchmark suite (bench/gpu/run.py)."""

import sys

from bench.gpu.run import main

sys.exit(main())
