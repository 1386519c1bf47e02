"""The parts of ``benchmarks/meta_train_throughput.py`` (run from the
repository root: ``python -m benchmarks.meta_train_throughput``)."""
