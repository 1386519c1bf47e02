"""Launcher of :mod:`learned_rule.cli.launch_local_cluster` (its docstring)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from learned_rule.cli import launch_local_cluster  # pylint: disable=g-import-not-at-top,wrong-import-position

if __name__ == '__main__':
  launch_local_cluster.run()
