"""Reporting of measured results: statistics over seeds, results tables,
plots, training curves, claim checks and verdicts, the published numbers
they are compared with, and the TensorBoard HParams dashboard.

Below ``evaluation/`` and ``training/``, it imports neither: it turns
records into tables and figures, whoever measured them.
"""
