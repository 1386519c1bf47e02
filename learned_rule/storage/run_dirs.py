"""Names of the files and folders that runs write, in one place.

A meta-training run directory (``bin/meta_train.py --root_dir``)::

  ckpt/          resumable checkpoints (training/checkpoints.py)
  export/        θ as a SavedModel, the newest (export.py)
  export_init/   θ-init as a SavedModel, the paired baseline
  config.gin     the operative gin config of the run
  summaries/     TensorBoard event files
  logs/          per-process logs of a local cluster

An evaluation run directory (transfer evaluation, ablation, sweep)::

  transfer_config.json  what the cells depend on; a resume must match it
  cells/                one JSON file per method × setting, written when done
  filters/              first-layer filters over training (paper Fig. 6)
  plots/                PNG figures
  results.json          summaries with per-seed values and metadata
  results.md            tables and the comparison with the paper
  tensorboard/          one HParams dashboard run per dataset × architecture
                        × method (learned_rule/reporting/hparams.py)

Both hold ``.lock``, the lock of the process running in them
(:mod:`learned_rule.storage.run_lock`).

A shipped rule (``rules/NAME/``) has the layout of a meta-training run, so
every binary that takes a run directory takes it too.

A run directory may be a local path or the URL of any TensorFlow filesystem
(``gs://bucket/run``; see :mod:`learned_rule.storage.file_io`), except the local
cluster's ``logs/``, which are local files. :func:`check_directory` and
:func:`check_output_file` refuse, before any work, a local path that cannot
be written.
"""

import os
import pathlib

from learned_rule.storage import file_io

CHECKPOINTS = 'ckpt'
EXPORT = 'export'
EXPORT_INIT = 'export_init'
OPERATIVE_CONFIG = 'config.gin'
SUMMARIES = 'summaries'
LOGS = 'logs'

EVALUATION_CONFIG = 'transfer_config.json'
CELLS = 'cells'
FILTERS = 'filters'
PLOTS = 'plots'
RESULTS_JSON = 'results.json'
RESULTS_MARKDOWN = 'results.md'
# The short table quoted from it (reporting/headline.py).
HEADLINE_MARKDOWN = 'headline.md'
DASHBOARD = 'tensorboard'


def path(root_dir, name, *parts):
  """``root_dir/name/parts...``: a named file or folder of a run."""
  return os.path.join(root_dir, name, *parts)


def _existing_ancestor(path):
  """The nearest of ``path`` and its parents that exists."""
  for candidate in (path, *path.parents):
    if os.path.lexists(candidate):
      return candidate
  return pathlib.Path(path.anchor or '.')


def check_directory(directory, flag='--root_dir'):
  """Raises ValueError, naming ``flag`` and the fix, unless ``directory``
  is, or can be created as, a writable local directory.

  A missing directory is created to find out and removed again, so that a
  run refused later leaves nothing behind. URLs are not checked (their
  filesystems say so at the first write).

  Args:
    directory: The path given with ``flag``.
    flag: The command-line flag (or setting) that gave it.
  """
  if not file_io.is_url(directory):
    _check_local_directory(directory, f'{flag}={directory}')


def _check_local_directory(directory, given):
  """:func:`check_directory` of a local path; ``given`` starts messages."""
  path = pathlib.Path(os.path.abspath(directory))
  ancestor = _existing_ancestor(path)
  if not ancestor.is_dir():
    where = 'is' if ancestor == path else f'is under {ancestor}, which is'
    raise ValueError(f'{given} {where} a file, not a directory; give a '
                     f'directory (it is created if needed).')
  if ancestor != path:
    try:
      path.mkdir(parents=True)
    except OSError as error:
      raise ValueError(
          f'{given} cannot be created ({error.strerror or error}); give a '
          f'directory on a filesystem you can write to.') from error
    created = path
    while created != ancestor:
      try:
        created.rmdir()
      except OSError:  # Another process wrote there meanwhile: keep it.
        break
      created = created.parent
  elif not os.access(path, os.W_OK | os.X_OK):
    raise ValueError(f'{given} is not writable; give a directory you can '
                     f'write to.')


def check_output_file(path, flag):
  """Raises ValueError, naming ``flag`` and the fix, unless a file can be
  written at the local ``path`` (its directory is checked as by
  :func:`check_directory`); URLs are not checked."""
  if path is None or file_io.is_url(path):
    return
  if os.path.isdir(path):
    raise ValueError(f'{flag}={path} is a directory; give the path of a '
                     f'file to write.')
  directory = os.path.dirname(os.path.abspath(path))
  _check_local_directory(directory,
                         f'{flag}={path}: its directory {directory}')
