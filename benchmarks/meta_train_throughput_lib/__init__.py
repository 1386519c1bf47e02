"""The parts of ``benchmarks/meta_train_throughput.py``.

The script puts its own directory on ``sys.path`` (Python does so for a
script run as a file), so these modules are imported as
``meta_train_throughput_lib``.
"""
