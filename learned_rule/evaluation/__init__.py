"""Evaluating learned rules on held-out data."""
