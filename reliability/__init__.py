"""The reliability campaign (``make chaos``, ``python -m
reliability.campaign``): kills, full disks and bad input, measured; its
results are in ``results/reliability/``."""
