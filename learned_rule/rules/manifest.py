"""The manifest of a shipped rule: the sha256 of each of its files.

A shipped rule directory holds ``MANIFEST.json``, which lists every other
file of the directory (paths relative to it, ``/``-separated) with its
sha256. :func:`verify` recomputes them at every load, so that a file changed
or truncated by a bad copy, a broken install or an edit is refused with its
name instead of loading as a different θ. ``bin/write_rule_manifest.py
DIR ...`` writes the manifest after a rule changes on purpose.
"""

import hashlib
import json
import os

from learned_rule.storage import atomic_files
from learned_rule import console_scripts

FILENAME = 'MANIFEST.json'
# Bumped when the manifest's layout changes.
FORMAT = 1
# Files that packaging tools may add next to a rule and that carry no θ.
_IGNORED = frozenset({'__pycache__', '.DS_Store'})


class ManifestError(ValueError):
  """A shipped rule does not match its manifest."""


def _sha256(directory, relative):
  """The sha256 of ``directory``'s file at the ``/``-separated
  ``relative``."""
  digest = hashlib.sha256()
  with open(os.path.join(directory, *relative.split('/')), 'rb') as stream:
    for block in iter(lambda: stream.read(1 << 20), b''):
      digest.update(block)
  return digest.hexdigest()


def files_of(directory):
  """Every file under ``directory`` but the manifest, as sorted relative
  ``/``-separated paths."""
  found = []
  for parent, subdirectories, files in os.walk(directory):
    subdirectories[:] = sorted(d for d in subdirectories if d not in _IGNORED)
    for name in files:
      if name in _IGNORED:
        continue
      relative = os.path.relpath(os.path.join(parent, name), directory)
      if relative != FILENAME:
        found.append(relative.replace(os.sep, '/'))
  return sorted(found)


def compute(directory):
  """``{relative path: sha256}`` of every file of ``directory``."""
  return {relative: _sha256(directory, relative)
          for relative in files_of(directory)}


def _write_files(directory, files):
  path = os.path.join(directory, FILENAME)
  atomic_files.write_text(path, json.dumps(
      {'format': FORMAT, 'files': files}, indent=1, sort_keys=True) + '\n')
  return path


def write(directory):
  """Writes ``directory``'s manifest; returns its path."""
  return _write_files(directory, compute(directory))


def update(directory, relative):
  """Records the current sha256 of one file of ``directory`` in its
  manifest, every other entry as it was; returns the manifest's path.

  For a file rewritten on purpose by a tool that knows which file it
  changed (the quotes of a rule card, ``tools/quotes.py``): unlike
  :func:`write`, a change to any other file of the rule still fails
  :func:`verify`.

  Raises:
    ManifestError: the manifest is missing or unreadable.
    OSError: ``relative`` cannot be read.
  """
  files = dict(read(directory))
  files[relative] = _sha256(directory, relative)
  return _write_files(directory, files)


def read(directory):
  """The ``{relative path: sha256}`` that ``directory``'s manifest lists."""
  path = os.path.join(directory, FILENAME)
  try:
    with open(path, encoding='utf-8') as stream:
      recorded = json.load(stream)
    files = recorded['files']
    if recorded.get('format') != FORMAT or not isinstance(files, dict):
      raise ValueError(f'format {recorded.get("format")!r}, expected '
                       f'{FORMAT}')
  except (OSError, ValueError, KeyError, TypeError) as error:
    raise ManifestError(
        f'The manifest of the rule at {directory} ({path}) is missing or '
        f'unreadable ({type(error).__name__}: {error}); reinstall the '
        'package.') from error
  return files


def verify(directory):
  """Raises :class:`ManifestError`, naming the file, unless every file of
  ``directory`` is the one its manifest lists."""
  listed = read(directory)
  present = set(files_of(directory))
  missing = sorted(set(listed) - present)
  unlisted = sorted(present - set(listed))
  if missing or unlisted:
    raise ManifestError(
        f'The rule at {directory} does not match its manifest: missing '
        f'{missing}, not listed {unlisted}. Reinstall the package, or run '
        f'`{console_scripts.command("write_rule_manifest")} {directory}` if '
        'you changed the rule on purpose.')
  for relative, expected in sorted(listed.items()):
    found = _sha256(directory, relative)
    if found != expected:
      raise ManifestError(
          f'The rule at {directory} is corrupt: {relative} has sha256 '
          f'{found}, its manifest says {expected}. Reinstall the package '
          f'(the file was changed or truncated after it was shipped).')

