"""Resumable meta-training checkpoints, written atomically.

A checkpoint ``<directory>/ckpt-<step:08d>/`` holds ``arrays.npz`` (named
arrays: θ, optimizer slots, base-model states in flight, flattened by the
caller into names like ``'task/2/layers/0/kernel'``; no pickling, dtypes
kept), ``metadata.json`` (rule config, step, RNG state, task records, ...)
and the marker ``COMPLETE`` (format, step, array names), written last, all
in ``<directory>/.tmp-ckpt-<step>-<random>``, fsynced and then renamed into
place (:func:`learned_rule.storage.atomic_files.replacing_directory`): a crash
leaves a whole checkpoint or a temporary directory, which ``latest()``
ignores and the next save removes. ``latest()`` only looks for
the marker; ``restore()`` of a marked checkpoint damaged later (a truncated
``arrays.npz``) raises a :class:`CheckpointError` naming the file, unless
``fall_back=True`` asks for the newest readable one. One process writes a
directory at a time.

``directory`` may be on any TensorFlow filesystem (``gs://bucket/run/ckpt``;
files go through ``tf.io.gfile``). Where a directory cannot be renamed in
one step (object stores, ``ram://``), a checkpoint is moved into place file
by file with the marker last (see :mod:`learned_rule.storage.atomic_files`), so
``latest()`` still never returns a partial one.
"""

import io
import json
import os
import re
import secrets
import tempfile
import zipfile

from absl import logging
import numpy as np
import tensorflow as tf

from learned_rule.storage import atomic_files
from learned_rule.storage import file_io

ARRAYS_FILE = 'arrays.npz'
METADATA_FILE = 'metadata.json'
MARKER_FILE = 'COMPLETE'
FORMAT_VERSION = 1

_NAME = re.compile(r'^ckpt-(\d+)$')
_TEMPORARY_PREFIX = atomic_files.TEMPORARY_PREFIX


class CheckpointError(ValueError):
  """A checkpoint cannot be written, read or used with this configuration."""


def _json_default(value):
  """Turns numpy scalars and arrays into plain JSON values."""
  if isinstance(value, (np.generic, np.ndarray)):
    return value.tolist()
  raise TypeError(f'{type(value).__name__} is not JSON-serialisable')


def _to_json(value):
  return json.dumps(value, indent=2, sort_keys=True,
                    default=_json_default).encode()


def _write_file(path, contents):
  """Writes bytes, or a dict of arrays as an uncompressed ``.npz``."""
  if not isinstance(contents, bytes):
    # Built in memory: a zip file seeks, which not every filesystem's
    # stream does.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_STORED) as zf:
      for name, value in contents.items():
        with zf.open(name + '.npy', 'w', force_zip64=True) as member:
          np.lib.format.write_array(member, value, allow_pickle=False)
    contents = buffer.getvalue()
  with tf.io.gfile.GFile(path, 'wb') as f:
    f.write(contents)


def _read_file(path):
  """The JSON document or the dict of arrays stored at ``path``."""
  try:
    contents = file_io.read_bytes(path)
    if path.endswith('.npz'):
      with np.load(io.BytesIO(contents), allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}
    return json.loads(contents)
  except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as e:
    raise CheckpointError(
        f'Cannot read {path}: {type(e).__name__}: {e}') from e


def read_checkpoint(path):
  """``(step, arrays, metadata)`` of the ``ckpt-<step>`` directory ``path``.

  Raises:
    CheckpointError: If the directory is missing, incomplete or any of its
      files cannot be read; the message names the file.
  """
  path = os.fspath(path)
  marker = os.path.join(path, MARKER_FILE)
  if not tf.io.gfile.exists(marker) or tf.io.gfile.isdir(marker):
    raise CheckpointError(f'{path} has no {MARKER_FILE} marker: it is not a '
                          'checkpoint, or its save was interrupted.')
  info = _read_file(marker)
  if (not isinstance(info, dict) or 'step' not in info
      or info.get('format_version') != FORMAT_VERSION):
    raise CheckpointError(f'{marker} does not describe a checkpoint of '
                          f'format version {FORMAT_VERSION}.')
  metadata = _read_file(os.path.join(path, METADATA_FILE))
  arrays_path = os.path.join(path, ARRAYS_FILE)
  arrays = _read_file(arrays_path)
  if sorted(arrays) != info.get('arrays'):
    raise CheckpointError(f'{arrays_path} lacks arrays that {marker} lists.')
  return int(info['step']), arrays, metadata


class CheckpointManager:
  """Saves, lists, prunes and restores the checkpoints of one directory.

  Args:
    directory: Where the ``ckpt-<step>`` directories go (made when saving).
    keep: How many complete checkpoints to keep (newest steps); None: all.
  """

  def __init__(self, directory, keep=3):
    if keep is not None and keep < 1:
      raise ValueError(f'keep must be at least 1 or None, got {keep}.')
    self.directory = os.fspath(directory)
    self.keep = keep

  def path_for(self, step):
    """The directory of the checkpoint of ``step``."""
    return os.path.join(self.directory, f'ckpt-{step:08d}')

  def checkpoints(self):
    """``(step, path)`` of every complete checkpoint, oldest first."""
    if not tf.io.gfile.isdir(self.directory):
      return []
    return sorted(
        (int(match.group(1)), os.path.join(self.directory, match.group(0)))
        for match in map(_NAME.match, file_io.listdir(self.directory))
        if match and tf.io.gfile.exists(
            os.path.join(self.directory, match.group(0), MARKER_FILE)))

  def latest(self):
    """Path of the newest checkpoint that has its marker, or None."""
    found = self.checkpoints()
    return found[-1][1] if found else None

  def save(self, step, arrays, metadata=None):
    """Writes the checkpoint of ``step`` atomically, then prunes.

    Args:
      step: Non-negative integer, the meta-training step.
      arrays: Dict from name (str) to array-like, not of Python objects.
      metadata: JSON-serialisable dict (numpy values become numbers, lists).

    Returns:
      The path of the new checkpoint (one already there is replaced).

    Raises:
      TypeError: If an array holds Python objects or the metadata is not
        JSON-serialisable (nothing is written then).
      OSError: If writing fails (the previous checkpoints are untouched) or
        pruning does.
    """
    if isinstance(step, bool) or int(step) != step or step < 0:
      raise ValueError(f'step must be a non-negative integer, got {step!r}.')
    step = int(step)
    prepared = {str(name): np.asarray(value) for name, value in arrays.items()}
    objects = [name for name, array in prepared.items()
               if array.dtype.hasobject]
    if objects:
      raise TypeError(f'Arrays {objects} hold Python objects.')
    files = {
        ARRAYS_FILE: prepared,
        METADATA_FILE: _to_json({} if metadata is None else metadata),
        MARKER_FILE: _to_json({'format_version': FORMAT_VERSION, 'step': step,
                               'arrays': sorted(prepared)})}
    final = self.path_for(step)
    with atomic_files.replacing_directory(
        final, last_file=MARKER_FILE) as temporary:
      for name, contents in files.items():  # The marker last.
        _write_file(os.path.join(temporary, name), contents)
    logging.info('Saved checkpoint %s.', final)
    self._prune()
    return final

  def restore(self, path=None, fall_back=False):
    """``(step, arrays, metadata)`` of ``path``, or of the newest checkpoint.

    Args:
      path: A checkpoint directory; None for :meth:`latest`.
      fall_back: With ``path=None``, go back to older checkpoints while the
        newer ones cannot be read (each skipped one is logged).

    Raises:
      CheckpointError: If there is no complete checkpoint, or the one read
        (with ``fall_back``: every one) is damaged; it names the file.
    """
    if path is not None:
      return read_checkpoint(path)
    found = self.checkpoints()
    if not found:
      raise CheckpointError(f'No complete checkpoint in {self.directory}.')
    if not fall_back:
      return read_checkpoint(found[-1][1])
    errors = []
    for _, candidate in reversed(found):
      try:
        return read_checkpoint(candidate)
      except CheckpointError as e:
        logging.warning('Skipping a damaged checkpoint: %s', e)
        errors.append(str(e))
    raise CheckpointError(f'No readable checkpoint in {self.directory}:\n'
                          + '\n'.join(errors))

  def _prune(self):
    """Deletes the checkpoints beyond ``keep`` and stale temporaries."""
    for _, path in self.checkpoints()[:-self.keep] if self.keep else []:
      # Renamed to a temporary, or the marker deleted, first: a half-deleted
      # directory is never taken for a checkpoint.
      atomic_files.remove_directory(path, last_file=MARKER_FILE)
    for name in file_io.listdir(self.directory):
      if name.startswith(_TEMPORARY_PREFIX):
        try:
          file_io.delete(os.path.join(self.directory, name))
        except file_io.errors() as e:  # Tried again at the next save.
          logging.warning('Cannot delete a stale temporary: %s', e)


def _flatten(config, prefix=''):
  flat = {}
  for key, value in config.items():
    if isinstance(value, dict) and value:
      flat.update(_flatten(value, f'{prefix}{key}.'))
    else:
      flat[f'{prefix}{key}'] = value
  return flat


def check_compatible(metadata, expected, what='rule configuration'):
  """Checks that a saved configuration equals the one in use now.

  Compared as JSON stores them (tuples equal lists); nested dicts key by key,
  named with dots.

  Args:
    metadata: The saved dict (e.g. ``metadata['rule_config']``).
    expected: The dict in use now.
    what: What the dicts are, for the message.

  Raises:
    CheckpointError: Listing each differing key, ``'key: saved X vs now Y'``
      (``'<missing>'`` where a side lacks the key).
  """
  saved = _flatten(json.loads(_to_json(metadata)))
  now = _flatten(json.loads(_to_json(expected)))
  differences = [
      f'{key}: saved {saved.get(key, "<missing>")!r} vs now '
      f'{now.get(key, "<missing>")!r}'
      for key in sorted(set(saved) | set(now))
      if key not in saved or key not in now or saved[key] != now[key]]
  if differences:
    raise CheckpointError(
        f'The checkpoint was written with another {what}: resume the run '
        'with its own configuration (config.gin in its run directory), or '
        'give this configuration a new --root_dir. What differs:\n  '
        + '\n  '.join(differences))


def check_writable(directory):
  """Creates ``directory`` if needed, checks that it takes files; returns it.

  ``directory`` may be a local path or a URL (``gs://bucket/run``).

  Raises:
    CheckpointError: Naming the directory and the OS error, if it cannot be
      created (a file in the way, a read-only parent) or written to.
  """
  directory = os.fspath(directory)
  try:
    if file_io.is_url(directory):
      tf.io.gfile.makedirs(directory)
      probe = os.path.join(
          directory, f'{_TEMPORARY_PREFIX}probe-{secrets.token_hex(4)}')
      with tf.io.gfile.GFile(probe, 'wb') as stream:
        stream.write(b'probe')
      tf.io.gfile.remove(probe)
      return directory
    os.makedirs(directory, exist_ok=True)
    with tempfile.NamedTemporaryFile(prefix=f'{_TEMPORARY_PREFIX}probe-',
                                     dir=directory) as probe:
      probe.write(b'probe')
      probe.flush()
  except file_io.errors() as e:
    raise CheckpointError(
        f'The checkpoint directory {directory} is not writable: {e}') from e
  return directory
