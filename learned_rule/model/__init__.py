"""The base model φ: an MLP of local dense layers with batch norm (spec §2),
its nonlinearities, and its memory estimate."""
