"""Meta-training: the trainer, its checkpoints and its TensorBoard output."""
