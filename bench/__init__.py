"""ember's CPU benchmarks: `python -m bench` runs them all (see bench/run.py).

Nothing is imported here: the suite must size the thread pools before numpy,
PyTorch or ember load.
"""
