"""How a binary ends on an error: one message, a status that says why.

Every binary's ``main`` runs inside :func:`reporting_errors` (through
``startup.run``). What escapes it is printed as a short message on
standard error, without the Python traceback unless ``--verbose``, and the
process exits with a status that tells a script what kind of failure it
was:

==========================  ======  ==========================================
failure                     status  message
==========================  ======  ==========================================
bad input (``UsageError``)  2       the reason, which names the fix
disk full (``ENOSPC``)      74      what was being written; free space, rerun
stopped by SIGTERM, Ctrl-C  75      what is kept; rerun the same command
anything else               1       the exception in one line
==========================  ======  ==========================================

74 and 75 are sysexits.h's ``EX_IOERR`` and ``EX_TEMPFAIL``; 75 is also
what a meta-training run stopped by a signal exits with after its
checkpoint (``training/stop_request.py``). The evaluation binaries keep
every finished cell as they go (``evaluation/cell_store.py``) and the
meta-training ones keep their newest complete checkpoint, so after a full
disk or a signal the same command resumes.
"""

import contextlib
import errno
import signal
import sys
import traceback

from absl import app

from learned_rule.training import stop_request

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_DISK_FULL = 74
EXIT_STOPPED = stop_request.EXIT_CODE

# What the operating system or TensorFlow's file layer says when a write
# finds no room (ENOSPC) or the user's quota spent (EDQUOT).
_DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
_DISK_FULL_WORDS = ('No space left on device', 'Disk quota exceeded')


def is_disk_full(error):
  """Whether ``error`` (or an error it was raised from) is a full disk.

  An ``OSError`` carries its errno; TensorFlow's ``tf.io.gfile`` raises a
  ``ResourceExhaustedError`` whose message has the system's words.
  """
  seen = set()
  while error is not None and id(error) not in seen:
    seen.add(id(error))
    if isinstance(error, OSError) and error.errno in _DISK_FULL_ERRNOS:
      return True
    if any(words in str(error) for words in _DISK_FULL_WORDS):
      return True
    error = error.__cause__ or error.__context__
  return False


class Terminated(KeyboardInterrupt):
  """SIGTERM, raised where the main thread is, as Ctrl-C raises
  KeyboardInterrupt."""


def _raise_terminated(unused_signum, unused_frame):
  raise Terminated('SIGTERM')


def stop_on_sigterm():
  """Makes SIGTERM stop the main thread as Ctrl-C does (a binary that
  checkpoints on its own, meta-training, installs its handler later)."""
  signal.signal(signal.SIGTERM, _raise_terminated)


def _one_line(error):
  """``Type: message``, the message's first line only (gin adds lines
  naming the configurable it was in)."""
  text = str(error).strip().split('\n', 1)[0]
  return f'{type(error).__name__}: {text}' if text else type(error).__name__


def _without_gin_context(text):
  """``text`` less the lines gin adds to an error raised inside a
  configurable ("In call to configurable 'train' (<function ...>)")."""
  return '\n'.join(line for line in text.split('\n')
                   if not line.strip().startswith('In call to configurable'))


def _message(binary, error):
  """``(status, message)`` for an exception that ended ``binary``."""
  if isinstance(error, app.UsageError):
    return EXIT_USAGE, (f'{binary}: error: {_without_gin_context(str(error))}'
                        f'\n({binary} --help lists the flags.)')
  if isinstance(error, KeyboardInterrupt):
    # SIGTERM, 'a second SIGINT' (training/stop_request.py) or Ctrl-C.
    name = str(error) or 'Ctrl-C'
    return EXIT_STOPPED, (
        f'{binary}: stopped by {name}. What was finished is kept: run the '
        f'same command again to resume.')
  if is_disk_full(error):
    return EXIT_DISK_FULL, (
        f'{binary}: the disk is full: {_one_line(error)}\n'
        'Nothing complete was lost (files are replaced whole or not at all). '
        'Free some space, or give a directory on a disk with room, and run '
        'the same command again to resume.')
  return EXIT_ERROR, (f'{binary}: {_one_line(error)}\n'
                      '(Run again with --verbose for the traceback.)')


@contextlib.contextmanager
def reporting_errors(binary, verbose):
  """A block whose exceptions end the process with a message and status.

  Args:
    binary: The binary's name, for the messages.
    verbose: Print the traceback too (``--verbose``).

  Raises:
    SystemExit: With the status of the table in the module docstring;
      ``SystemExit`` raised inside (``sys.exit``) passes unchanged.
  """
  try:
    yield
  except SystemExit:
    raise
  except BaseException as error:  # pylint: disable=broad-except
    status, message = _message(binary, error)
    if verbose:
      traceback.print_exc()
    print(message, file=sys.stderr)
    sys.exit(status)
