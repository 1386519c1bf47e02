"""The parts of ``benchmarks/inner_step.py``, one concept per module
(run from the repository root: ``python -m benchmarks.inner_step``)."""
