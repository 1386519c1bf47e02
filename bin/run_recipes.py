"""Launcher of :mod:`learned_rule.cli.run_recipes` (see its docstring)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from learned_rule.cli import run_recipes  # pylint: disable=g-import-not-at-top,wrong-import-position

if __name__ == '__main__':
  run_recipes.run()
