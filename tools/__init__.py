"""Programs that maintain the repository (not part of the package)."""
