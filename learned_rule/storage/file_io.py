"""Paths on the local disk and on any TensorFlow filesystem.

Run directories, exports, results and the files the binaries write may be
local paths or URLs of any filesystem that ``tf.io.gfile`` knows:
``gs://bucket/run`` (Google Cloud Storage), ``s3://``, ``hdfs://``, or
``ram://`` (TensorFlow's in-memory filesystem of one process). This module
tells the two apart, gives the path functions that must leave a URL as it
is (``os.path.abspath('gs://b/x')`` would make it a local path), and reads
files of either kind through ``tf.io.gfile``.

``ram://`` has quirks that :func:`exists`, :func:`listdir` and
:func:`delete` work around (see each). It also appends to a file that is
opened again for writing; the atomic writes of :mod:`atomic_files` always
write new temporaries, so they are not affected.

TensorFlow is imported on the first call that needs it, so that modules
which only import this one (listing the shipped rules, say) stay light.
"""

import errno
import os
import posixpath
import re

# A scheme (RFC 3986) followed by '://'.
_URL = re.compile(r'^[A-Za-z][A-Za-z0-9+.-]*://')


def _tensorflow():
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  return tf


def gfile():
  """``tf.io.gfile``, importing TensorFlow on first use."""
  return _tensorflow().io.gfile


def errors():
  """What a filesystem operation raises: ``(OSError, tf.errors.OpError)``.

  For ``except file_io.errors():`` around calls that take local paths and
  URLs alike.
  """
  return (OSError, _tensorflow().errors.OpError)


def is_url(path):
  """Whether ``path`` names its filesystem by a scheme (``gs://b/x``)."""
  return bool(_URL.match(os.fspath(path)))


def absolute(path):
  """``path`` as a str, made absolute if local; a URL is kept as it is."""
  path = os.fspath(path)
  return path if is_url(path) else os.path.abspath(path)


def shown(path):
  """``path`` as results show it: relative to the working directory where
  it lies below it (a checkout's ``learned_rule/rules/...``, not one
  machine's absolute path), otherwise as it is."""
  path = os.fspath(path)
  if is_url(path):
    return path
  relative = os.path.relpath(os.path.abspath(path))
  return path if relative.startswith(os.pardir) else relative


def canonical(path):
  """``path`` with local symbolic links resolved; a URL is kept as it is.

  For comparing two names of one directory (``os.path.realpath``).
  """
  path = os.fspath(path)
  return path if is_url(path) else os.path.realpath(path)


def split(path):
  """``(parent, name)`` of ``path``, a local path or a URL.

  Unlike ``os.path.split``, the parent of ``ram://x`` is ``ram://`` (not
  ``ram:``), and a trailing ``/`` is ignored.
  """
  path = os.fspath(path)
  match = _URL.match(path)
  if not match:
    return os.path.split(path)
  scheme = match.group(0)
  parent, name = posixpath.split(path[len(scheme):].rstrip('/'))
  return scheme + parent, name


def exists(path):
  """Whether ``path`` exists, a local path or a URL.

  ``tf.io.gfile.exists``, except on ``ram://``, which says that every
  prefix of an existing name exists (``ram://x/ab`` makes ``ram://x/a`` a
  directory): there a name exists only where its parent directory lists it.
  """
  path = os.fspath(path)
  if not gfile().exists(path):
    return False
  if not path.startswith('ram://'):
    return True
  parent, name = split(path)
  return not name or name in {
      child.rstrip('/') for child in gfile().listdir(parent)}


def listdir(directory):
  """The sorted names in ``directory``, a local path or a URL.

  A trailing ``/`` (how object stores mark directories) is dropped, and a
  name that a URL's listing gives but that does not exist is skipped:
  ``ram://`` lists, in ``ram://x/a``, the entries of ``ram://x`` whose names
  extend ``a`` (``ram://x/a_b`` as ``_b``).
  """
  directory = os.fspath(directory)
  if not is_url(directory):
    return sorted(os.listdir(directory))
  names = {name.rstrip('/') for name in gfile().listdir(directory)}
  return sorted(name for name in names
                if gfile().exists(posixpath.join(directory, name)))


def delete(path):
  """Deletes the file or directory tree ``path`` (local or a URL), if there.

  Raises:
    OSError or tf.errors.OpError: If something there cannot be deleted.
  """
  path = os.fspath(path)
  filesystem = gfile()
  if not exists(path):
    return
  if not filesystem.isdir(path):
    filesystem.remove(path)
    return
  try:
    filesystem.rmtree(path)
  except _tensorflow().errors.NotFoundError:
    # ram:// fails on the names of other entries it lists (see listdir),
    # having deleted the directory.
    if exists(path):
      raise


def _os_error(error, path):
  """A TensorFlow filesystem error as the OSError open() would raise."""
  tf = _tensorflow()
  kinds = ((tf.errors.NotFoundError, FileNotFoundError, errno.ENOENT),
           (tf.errors.PermissionDeniedError, PermissionError, errno.EACCES))
  for op_error, os_error, number in kinds:
    if isinstance(error, op_error):
      return os_error(number, error.message or os.strerror(number), path)
  return OSError(errno.EIO, f'{type(error).__name__}: {error.message}', path)


def read_bytes(path):
  """The content of the file ``path``, local or a URL.

  Raises:
    OSError: As ``open()`` would (FileNotFoundError for a missing file),
      with TensorFlow's message and the path.
  """
  path = os.fspath(path)
  try:
    with gfile().GFile(path, 'rb') as stream:
      return stream.read()
  except _tensorflow().errors.OpError as error:
    raise _os_error(error, path) from error


def read_text(path):
  """The content of the UTF-8 file ``path``, local or a URL.

  Raises:
    OSError: See :func:`read_bytes`.
    UnicodeDecodeError: If the file is not UTF-8.
  """
  return read_bytes(path).decode('utf-8')
