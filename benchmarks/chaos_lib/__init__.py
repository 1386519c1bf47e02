"""The reliability campaign of ``benchmarks/chaos.py`` (``make chaos``)."""
