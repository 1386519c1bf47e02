"""Datasets as in-memory arrays, and samplers that feed the inner loop."""
