"""What every result records about the code that made it.

A checkout has a git revision; an installed wheel does not, so results carry
the package version as well (:data:`learned_rule.version.__version__`).
"""

import functools
import os
import subprocess

from learned_rule import version

UNKNOWN_REVISION = 'unknown'


@functools.lru_cache(maxsize=None)
def git_revision():
  """The checkout's commit ('+dirty' with local changes), or 'unknown'.

  'unknown' outside a git checkout, e.g. for an installed wheel. Read once
  per process: a long run records the revision it started from.
  """
  here = os.path.dirname(os.path.abspath(__file__))
  try:
    commit = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=here,
                            capture_output=True, text=True, check=True,
                            timeout=10).stdout.strip()
    dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-'
                            'files=no'], cwd=here, capture_output=True,
                           text=True, check=True, timeout=10).stdout.strip()
  except (OSError, subprocess.SubprocessError):
    return UNKNOWN_REVISION
  return commit + ('+dirty' if dirty else '')


def stamp():
  """``{'package_version': ..., 'git_revision': ...}`` for result metadata."""
  return {'package_version': version.__version__,
          'git_revision': git_revision()}


def describe():
  """One line for reports: e.g. 'learned_rule 0.2.0, revision <commit>'."""
  return (f'learned_rule {version.__version__}, revision '
          f'{git_revision()}')
