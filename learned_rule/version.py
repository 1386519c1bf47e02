"""Version of the learned_rule package."""

__version__ = '0.1.0'
