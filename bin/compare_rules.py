"""Launcher of :mod:`learned_rule.cli.compare_rules` (see its docstring)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from learned_rule.cli import compare_rules  # pylint: disable=g-import-not-at-top,wrong-import-position

if __name__ == '__main__':
  compare_rules.run()
