"""The parts of ``benchmarks/inner_step.py``, one concept per module.

The script puts its own directory on ``sys.path`` (Python does so for a
script run as a file), so these modules are imported as ``inner_step_lib``.
"""
