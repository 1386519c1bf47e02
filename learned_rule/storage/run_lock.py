"""One process per run directory, with a lock that a killed process cannot
leave behind.

A run (meta-training, a transfer evaluation, the ablation) holds an
exclusive ``flock`` on ``<root_dir>/.lock`` for as long as its process
lives. The kernel releases the lock when the process ends, however it ends
(SIGKILL included), so a stale lock never blocks a restart; the file itself
stays, holding the pid and host of its last holder for the error message.

``flock`` works on local filesystems. On URLs (``gs://``, ...) there is no
lock: two runs there must be kept apart by whoever starts them; a warning
says so.
"""

import fcntl
import os
import socket

from absl import logging

from learned_rule.storage import file_io

LOCK_FILE = '.lock'

# The locks this process holds, by directory: kept open until it exits.
_HELD = {}


class RunDirectoryBusy(RuntimeError):
  """Another live process holds the run directory."""


def hold(root_dir, what='run'):
  """Takes the lock of ``root_dir`` for the rest of this process.

  Args:
    root_dir: The run directory (created if needed).
    what: What the directory is for, in the error (e.g. 'meta-training').

  Raises:
    RunDirectoryBusy: another live process holds it; the message names it.
  """
  root_dir = os.fspath(root_dir)
  if file_io.is_url(root_dir):
    logging.warning('No lock on %s: a run directory on a URL is not '
                    'protected from a second run.', root_dir)
    return
  key = os.path.realpath(root_dir)
  if key in _HELD:
    return
  os.makedirs(root_dir, exist_ok=True)
  path = os.path.join(root_dir, LOCK_FILE)
  handle = open(path, 'a+', encoding='utf-8')  # pylint: disable=consider-using-with
  try:
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
  except BlockingIOError:
    handle.seek(0)
    holder = handle.read().strip() or 'another process'
    handle.close()
    raise RunDirectoryBusy(
        f'{root_dir} is in use by a live {what} ({holder}): two runs must '
        f'not share a run directory. Wait for it to end or stop it, or '
        f'give another --root_dir.') from None
  handle.seek(0)
  handle.truncate()
  handle.write(f'pid {os.getpid()} on {socket.gethostname()}\n')
  handle.flush()
  _HELD[key] = handle
