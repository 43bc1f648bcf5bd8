"""chaingrad's benchmark suite: the same workloads on chaingrad, micrograd, PyTorch and plain floats.

Run `python benchmarks/run.py` (see benchmarks/README.md). Nothing here is part of the library.
"""
