"""Timing and memory benchmarks, each a module run from the repository
root (``python -m benchmarks.inner_step``); their results are in
``results/benchmarks/``."""
