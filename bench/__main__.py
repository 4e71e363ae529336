"""Entry point of `python -m bench`: the whole CPU benchmark suite (bench/run.py)."""

import sys

from bench.run import main

sys.exit(main())
