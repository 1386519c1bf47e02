"""Meta-training tasks: one task (dataset, classes, architecture,
permutation, lengths) and the distribution they are drawn from (spec §6.1,
§6.2)."""
