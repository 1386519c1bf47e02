r"""Runs a binary whose writes fail with ENOSPC from the N-th one matching.

For machines where the campaign cannot mount a small tmpfs (not root):
every file and directory the package writes goes through
``learned_rule.storage.atomic_files`` (``replacing``, ``replacing_directory``).
This wrapper lets the first ``CHAOS_ENOSPC_AFTER`` writes whose destination
contains ``CHAOS_ENOSPC_MATCH`` through, then makes each later one fail
as a full disk does: after its content was written to the temporary, with
``OSError(ENOSPC)``, inside the write so that its clean-up runs. Usage:

  CHAOS_ENOSPC_MATCH=/ckpt/ckpt- CHAOS_ENOSPC_AFTER=2 \
      python reliability/inject_enospc.py bin/meta_train.py ...
"""

import contextlib
import errno
import os
import runpy
import sys

MATCH = 'CHAOS_ENOSPC_MATCH'
AFTER = 'CHAOS_ENOSPC_AFTER'


def install(match, after):
  """Patches ``atomic_files`` so that matching writes past ``after`` fail."""
  from learned_rule.storage import atomic_files  # pylint: disable=g-import-not-at-top
  seen = [0]

  def failing(original):
    @contextlib.contextmanager
    def write(path, *args, **kwargs):
      with original(path, *args, **kwargs) as target:
        yield target
        if match in os.fspath(path):
          seen[0] += 1
          if seen[0] > after:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC),
                          os.fspath(path))
    return write

  atomic_files.replacing = failing(atomic_files.replacing)
  atomic_files.replacing_directory = failing(
      atomic_files.replacing_directory)


def main():
  script, *arguments = sys.argv[1:]
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
      script))))
  install(os.environ[MATCH], int(os.environ.get(AFTER, '0')))
  sys.argv = [script, *arguments]
  runpy.run_path(script, run_name='__main__')


if __name__ == '__main__':
  main()
