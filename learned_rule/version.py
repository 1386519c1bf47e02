"""Version of the learned_rule package."""

__version__ = '0.2.0'
