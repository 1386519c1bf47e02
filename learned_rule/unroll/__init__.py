"""The inner loop: the rule applied N times inside one compiled
``tf.while_loop``, for one task or several stacked, with per-step
recomputation for flat memory in meta-gradients (spec §6.1)."""
