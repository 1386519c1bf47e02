"""What every result records about the code that made it.

A checkout has a git revision; an installed wheel does not, so results carry
the package version as well (:data:`learned_rule.version.__version__`).
"""

import datetime
import functools
import os
import shlex
import subprocess
import sys

from learned_rule import version

UNKNOWN_REVISION = 'unknown'


# What a run writes, not what makes it: results files, the long run's
# checkpoint and the prose that quotes them. Changes to them alone leave a
# revision clean, so that a benchmark run right after another (which has
# just rewritten its results file) still records the commit it ran.
OUTPUT_PATHSPECS = (':(top,exclude)results', ':(top,exclude)long_run',
                    ':(top,exclude,glob)**/*.md')


def revision_of(directory):
  """The commit checked out at ``directory``, '+dirty' when code differs.

  Code is every tracked file but :data:`OUTPUT_PATHSPECS`; untracked files
  do not count.

  Args:
    directory: Any folder inside a git checkout.

  Returns:
    The commit's hash with '+dirty' where tracked code has local changes;
    'unknown' outside a git checkout or without git.
  """
  def git(*args):
    return subprocess.run(['git', *args], cwd=directory, capture_output=True,
                          text=True, check=True, timeout=10).stdout.strip()
  try:
    commit = git('rev-parse', 'HEAD')
    dirty = git('status', '--porcelain', '--untracked-files=no', '--',
                ':/', *OUTPUT_PATHSPECS)
  except (OSError, subprocess.SubprocessError):
    return UNKNOWN_REVISION
  return commit + ('+dirty' if dirty else '')


@functools.lru_cache(maxsize=None)
def git_revision():
  """This checkout's :func:`revision_of`, or 'unknown' for a wheel.

  Read once per process: a long run records the revision it started from.
  """
  return revision_of(os.path.dirname(os.path.abspath(__file__)))


def stamp():
  """``{'package_version': ..., 'git_revision': ...}`` for result metadata."""
  return {'package_version': version.__version__,
          'git_revision': git_revision()}


def invocation(argv=None):
  """The command line that started this process, as one would type it again.

  A checkout's ``bin/<binary>.py`` reads 'python bin/<binary>.py ...', a
  console script its name ('learned-rule-transfer-eval ...'), a module run
  with ``-m`` 'python -m <module> ...'; the flags follow as given.

  Args:
    argv: The arguments, ``sys.argv`` by default.
  """
  argv = list(sys.argv if argv is None else argv)
  program = argv[0] if argv else ''
  name = os.path.basename(program)
  if program == '-c':
    start = ['python', '-c']
  elif name.endswith('.py'):
    parts = os.path.normpath(program).split(os.sep)
    if name == '__main__.py' or not program:
      start = ['python']
    elif len(parts) >= 2 and parts[-2] == 'bin':
      start = ['python', os.path.join('bin', name)]
    else:
      module = sys.modules.get('__main__')
      spec = getattr(module, '__spec__', None)
      start = (['python', '-m', spec.name] if spec and spec.name
               else ['python', name])
  else:
    start = [name or 'python']
  return shlex.join(start + argv[1:])


def provenance(argv=None):
  """:func:`stamp` with the date and time (UTC) and :func:`invocation`:
  where, when and how a results file was made."""
  return {**stamp(),
          'date': datetime.datetime.now(datetime.timezone.utc).isoformat(
              timespec='seconds'),
          'command': invocation(argv)}


def describe():
  """One line for reports: e.g. 'learned_rule 0.2.0, revision <commit>'."""
  return (f'learned_rule {version.__version__}, revision '
          f'{git_revision()}')
