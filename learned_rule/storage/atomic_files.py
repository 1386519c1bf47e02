"""Files and directories written whole or not at all.

On the local disk, a file is written to a temporary file in its destination
directory, flushed to disk, then renamed over the destination, so a reader
(or a run resumed after a crash) sees the old file or the new one, never
half of one. A directory is built in a temporary directory beside its
destination, its files and directories are flushed to disk, then it is
renamed into place (see :func:`replacing_directory`).

A path may also be the URL of any TensorFlow filesystem (``gs://``,
``s3://``, ``hdfs://``, ``ram://``; see :mod:`learned_rule.storage.file_io`). It is
written through ``tf.io.gfile`` in the same steps, as atomic as the
filesystem's rename is:

* A file is buffered in memory, written whole to a temporary beside the
  destination, then renamed over it. The rename is atomic on ``ram://``. On
  object stores (``gs://``, ``s3://``) it is a copy and a delete: a reader
  still never sees part of a file (an object appears whole once written),
  but a crash between the two leaves the temporary behind. Other
  filesystems (``hdfs://``, ...) are as atomic as their rename.
* A directory is moved file by file on every URL: an object store has no
  directories (a directory is a name prefix, renamed object by object), and
  ``ram://`` renames only the directory's own entry, not its files. The old
  one is moved aside, the new one in, then the old one deleted. A reader
  may see a partial directory meanwhile, but the file named ``last_file``
  (what readers check: a checkpoint's marker, a SavedModel's
  ``saved_model.pb``) moves in last and out first, so a reader that checks
  it never takes a partial directory for a whole one. A crash during the
  moves can leave the destination without that file, and the old directory
  beside it as ``.tmp-<name>-old-<random>``.
* Nothing is flushed to disk explicitly (the filesystem decides when data
  is durable), and file modes are the filesystem's.
"""

import contextlib
import io
import json
import os
import posixpath
import secrets
import shutil
import stat
import tempfile

from learned_rule.storage import file_io

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
    path: The file to write, a local path or a URL (see the module
      docstring for how atomic a URL's replacement is).
    binary: Yield a binary stream instead of a UTF-8 text one.
    mode: Permission bits of the new local file (e.g. 0o644); None gives
      what a plain write would, 0o666 less the umask. Ignored for a URL.
  """
  path = os.fspath(path)
  if file_io.is_url(path):
    with _replacing_url(path, binary) as stream:
      yield stream
    return
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
  except BaseException as error:
    if os.path.exists(temporary):
      os.remove(temporary)
    if isinstance(error, OSError) and error.filename is None:
      # A failed write to the stream (a full disk) names no file.
      raise OSError(error.errno, error.strerror, path) from error
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
def replacing_directory(path, last_file=None):
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

  A URL's directory is moved file by file instead (see the module
  docstring), ``last_file`` in last.

  Args:
    path: The directory to write, a local path or a URL; its parent
      directories are created.
    last_file: Optional path, relative to the directory, of the file whose
      presence marks it complete; used for URLs only.

  Yields:
    The path (str) of the directory to fill.
  """
  if file_io.is_url(path):
    with _replacing_url_directory(os.fspath(path), last_file) as staging:
      yield staging
    return
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


def remove_directory(path, last_file=None):
  """Deletes the directory ``path`` so that no reader takes part of it for
  the whole.

  A local directory is renamed to a temporary name beside it, then deleted;
  a URL's directory loses its ``last_file`` first (see the module
  docstring). A crash leaves a temporary or a directory without
  ``last_file``.

  Args:
    path: An existing directory, a local path or a URL.
    last_file: Optional path, relative to the directory, of the file whose
      presence marks it complete; used for URLs only.
  """
  path = os.fspath(path)
  if file_io.is_url(path):
    marker = posixpath.join(path, last_file) if last_file else None
    if marker and file_io.gfile().exists(marker):
      file_io.gfile().remove(marker)
    file_io.delete(path)
    return
  parent, name = os.path.split(os.path.abspath(path))
  retired = os.path.join(
      parent, f'{TEMPORARY_PREFIX}{name}-deleted-{secrets.token_hex(4)}')
  os.rename(path, retired)
  shutil.rmtree(retired, ignore_errors=True)


# -- URLs of TensorFlow filesystems -------------------------------------------


def _url_temporary(parent, stem='', suffix=''):
  """A fresh name ``.tmp-<stem><random><suffix>`` in ``parent``."""
  return posixpath.join(
      parent, f'{TEMPORARY_PREFIX}{stem}{secrets.token_hex(4)}{suffix}')


def _remove_url_quietly(path):
  """Deletes a file or directory tree of a URL, if there, ignoring errors."""
  try:
    file_io.delete(path)
  except file_io.errors():  # Only cleaning up.
    pass


@contextlib.contextmanager
def _replacing_url(path, binary):
  """:func:`replacing` of a URL: buffered, written beside, renamed over."""
  gfile = file_io.gfile()
  parent, name = file_io.split(path)
  gfile.makedirs(parent)
  stream = io.BytesIO() if binary else io.StringIO()
  yield stream
  content = stream.getvalue()
  temporary = _url_temporary(parent, suffix=os.path.splitext(name)[1])
  try:
    with gfile.GFile(temporary, 'wb') as output:
      output.write(content if binary else content.encode('utf-8'))
    gfile.rename(temporary, path, overwrite=True)
  except BaseException:
    _remove_url_quietly(temporary)
    raise


def _tree(root):
  """Relative paths of the directories and files under the URL ``root``."""
  gfile = file_io.gfile()
  directories, files, pending = [], [], ['']
  while pending:
    relative = pending.pop()
    directories.append(relative)
    for name in file_io.listdir(posixpath.join(root, relative)):
      child = posixpath.join(relative, name)
      if gfile.isdir(posixpath.join(root, child)):
        pending.append(child)
      else:
        files.append(child)
  return directories, files


def _move_url(source, destination, last_file=None, last_first=False):
  """Moves a file, or a directory tree file by file, to ``destination``.

  ``destination``'s directories may exist, not its files. ``last_file``
  (relative to ``source``) moves last, or first with ``last_first``.
  """
  gfile = file_io.gfile()
  if not gfile.isdir(source):
    gfile.rename(source, destination)
    return
  directories, files = _tree(source)
  for relative in directories:
    gfile.makedirs(posixpath.join(destination, relative))
  last = posixpath.normpath(last_file) if last_file else None
  for relative in sorted(files, key=lambda f: (f == last) != last_first):
    gfile.rename(posixpath.join(source, relative),
                 posixpath.join(destination, relative))
  file_io.delete(source)


def _swap_url(staging, path, last_file):
  """:func:`_swap` of URLs, moving file by file.

  Whatever moved is moved back if a move fails, before the error
  propagates.
  """
  gfile = file_io.gfile()
  retired = None
  if file_io.exists(path):
    parent, name = file_io.split(path)
    retired = _url_temporary(parent, f'{name}-old-')
    try:
      _move_url(path, retired, last_file, last_first=True)
    except BaseException:
      if gfile.exists(retired):
        _move_url(retired, path, last_file)
      raise
  try:
    _move_url(staging, path, last_file)
  except BaseException:
    _remove_url_quietly(path)  # What moved of the new one.
    if retired is not None:
      _move_url(retired, path, last_file)
    raise
  return retired


@contextlib.contextmanager
def _replacing_url_directory(path, last_file):
  """:func:`replacing_directory` of a URL."""
  parent, name = file_io.split(path)
  path = posixpath.join(parent, name)
  staging = _url_temporary(parent, f'{name}-')
  file_io.gfile().makedirs(staging)
  try:
    yield staging
    retired = _swap_url(staging, path, last_file)
  except BaseException:
    _remove_url_quietly(staging)
    raise
  if retired is not None:
    _remove_url_quietly(retired)
