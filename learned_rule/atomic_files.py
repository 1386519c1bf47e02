"""Files written whole or not at all.

A file is written to a temporary file in its destination directory, flushed
to disk, then renamed over the destination, so a reader (or a run resumed
after a crash) sees the old file or the new one, never half of one.
"""

import contextlib
import json
import os
import tempfile


@contextlib.contextmanager
def replacing(path, binary=False):
  """Yields a stream whose content replaces ``path`` if the block succeeds.

  Creates the parent directories; on an exception the temporary file is
  removed and ``path`` is left as it was.
  """
  path = os.fspath(path)
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  handle, temporary = tempfile.mkstemp(
      prefix='.tmp-', suffix=os.path.splitext(path)[1], dir=directory)
  try:
    with os.fdopen(handle, 'wb' if binary else 'w',
                   **({} if binary else {'encoding': 'utf-8'})) as stream:
      yield stream
      stream.flush()
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
