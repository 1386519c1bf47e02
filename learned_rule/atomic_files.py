"""Files and directories written whole or not at all.

A file is written to a temporary file in its destination directory, flushed
to disk, then renamed over the destination, so a reader (or a run resumed
after a crash) sees the old file or the new one, never half of one.

A directory is built in a temporary directory beside its destination, its
files and directories are flushed to disk, then it is renamed into place
(see :func:`replacing_directory`).
"""

import contextlib
import json
import os
import shutil
import stat
import tempfile

# Names of the temporaries made beside a destination start with this.
TEMPORARY_PREFIX = '.tmp-'


def _default_mode(full):
  """``full`` less the process's umask: the mode open() or mkdir() gives.

  The temporaries of ``tempfile`` are private (0o600, 0o700); what replaces
  a destination should have the permissions a plain write would give it.
  """
  mask = os.umask(0)
  os.umask(mask)
  return full & ~mask


@contextlib.contextmanager
def replacing(path, binary=False, mode=None):
  """Yields a stream whose content replaces ``path`` if the block succeeds.

  Creates the parent directories; on an exception the temporary file is
  removed and ``path`` is left as it was.

  Args:
    path: The file to write.
    binary: Yield a binary stream instead of a UTF-8 text one.
    mode: Permission bits of the new file (e.g. 0o644); None gives what
      a plain write would, 0o666 less the umask.
  """
  path = os.fspath(path)
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  handle, temporary = tempfile.mkstemp(
      prefix=TEMPORARY_PREFIX, suffix=os.path.splitext(path)[1],
      dir=directory)
  try:
    with os.fdopen(handle, 'wb' if binary else 'w',
                   **({} if binary else {'encoding': 'utf-8'})) as stream:
      yield stream
      stream.flush()
      os.fchmod(stream.fileno(),
                _default_mode(0o666) if mode is None else mode)
      os.fsync(stream.fileno())
    os.replace(temporary, path)
  except BaseException:
    if os.path.exists(temporary):
      os.remove(temporary)
    raise


def write_text(path, text):
  """Writes ``text`` to ``path`` atomically; returns ``path``."""
  with replacing(path) as stream:
    stream.write(text)
  return path


def write_json(path, value, **options):
  """Writes ``value`` as JSON to ``path`` atomically; returns ``path``."""
  return write_text(path, json.dumps(value, **options))


def _fsync(path):
  """Flushes a file, or a directory's entries (a rename into it), to disk."""
  handle = os.open(path, os.O_RDONLY)
  try:
    os.fsync(handle)
  finally:
    os.close(handle)


def _fsync_tree(root):
  """Flushes every regular file and directory under ``root`` to disk."""
  for directory, _, files in os.walk(root):
    for name in files:
      path = os.path.join(directory, name)
      if stat.S_ISREG(os.lstat(path).st_mode):
        _fsync(path)
    _fsync(directory)


def _remove(path):
  """Deletes a file, a link or a directory tree."""
  if os.path.isdir(path) and not os.path.islink(path):
    shutil.rmtree(path, ignore_errors=True)
  else:
    os.remove(path)


def _swap(staging, path):
  """Renames ``staging`` to ``path``.

  An existing ``path`` is first renamed beside ``staging``; if the second
  rename fails, it is renamed back before the error propagates.

  Returns:
    The name the old ``path`` was renamed to, or None where there was none.
  """
  if not os.path.lexists(path):
    os.rename(staging, path)
    return None
  retired = staging + '.old'
  os.rename(path, retired)
  try:
    os.rename(staging, path)
  except BaseException:
    os.rename(retired, path)
    raise
  return retired


@contextlib.contextmanager
def replacing_directory(path):
  """Yields a new, empty directory that replaces ``path`` if the block succeeds.

  The directory is made beside ``path`` (named ``.tmp-<name>-<random>``, so
  on the same file system) with the mode a plain ``mkdir`` would give it
(0o777 less the umask). When the block succeeds, every
  file and directory in it is flushed to disk, then it is renamed to
  ``path``; an existing ``path`` (a directory or a file) is first renamed
  aside and deleted afterwards. A reader sees the old ``path`` or the new
  one, never a partial one; only between the two renames is there none.

  On an exception in the block, or if the swap fails, the new directory is
  deleted, ``path`` is left as it was (renamed back if the second rename
  failed) and the exception propagates.

  Args:
    path: The directory to write; its parent directories are created.

  Yields:
    The path (str) of the directory to fill.
  """
  path = os.path.abspath(os.fspath(path))
  parent, name = os.path.split(path)
  os.makedirs(parent, exist_ok=True)
  staging = tempfile.mkdtemp(prefix=f'{TEMPORARY_PREFIX}{name}-', dir=parent)
  try:
    os.chmod(staging, _default_mode(0o777))
    yield staging
    _fsync_tree(staging)
    retired = _swap(staging, path)
  except BaseException:
    shutil.rmtree(staging, ignore_errors=True)
    raise
  _fsync(parent)
  if retired is not None:
    _remove(retired)
