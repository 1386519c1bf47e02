"""What a killed run leaves behind: every checkpoint and export readable?

A kill may leave temporaries (``.tmp-*``: a checkpoint or an export being
written); those are expected, and the next save removes them. What must
never be there is a checkpoint with its marker that cannot be read, or an
export with its ``saved_model.pb`` that does not load.
"""

import os

from learned_rule.storage import atomic_files
from learned_rule import export
from learned_rule.storage import run_dirs
from learned_rule.training import checkpoints


def temporaries(directory):
  """The names of the temporaries in ``directory`` (none if it is absent)."""
  if not os.path.isdir(directory):
    return set()
  return {name for name in os.listdir(directory)
          if name.startswith(atomic_files.TEMPORARY_PREFIX)}


def writes_in_flight(root_dir):
  """``{'checkpoint': names, 'export': names}``: temporaries of the run."""
  checkpoint_dir = run_dirs.path(root_dir, run_dirs.CHECKPOINTS)
  return {'checkpoint': temporaries(checkpoint_dir),
          'export': {name for name in temporaries(root_dir)
                     if 'export' in name}}


def latest_step(root_dir):
  """The step of the newest complete checkpoint, or None."""
  found = checkpoints.CheckpointManager(
      run_dirs.path(root_dir, run_dirs.CHECKPOINTS)).checkpoints()
  return found[-1][0] if found else None


def check_run(root_dir, load_exports=True):
  """Reads every complete checkpoint and loads the exports of a run.

  Returns:
    A dict: ``checkpoints`` (how many have their marker),
    ``corrupt_checkpoints`` and ``corrupt_exports`` (messages of those that
    cannot be read), ``exports`` (how many loaded).
  """
  manager = checkpoints.CheckpointManager(
      run_dirs.path(root_dir, run_dirs.CHECKPOINTS), keep=None)
  found = manager.checkpoints()
  corrupt = []
  for _, path in found:
    try:
      checkpoints.read_checkpoint(path)
    except checkpoints.CheckpointError as error:
      corrupt.append(str(error))
  exports, corrupt_exports = 0, []
  for name in (run_dirs.EXPORT, run_dirs.EXPORT_INIT):
    path = run_dirs.path(root_dir, name)
    if load_exports and export.is_export(path):
      try:
        export.load_rule(path)
        exports += 1
      except Exception as error:  # pylint: disable=broad-except
        corrupt_exports.append(f'{path}: {error}')
  return {'checkpoints': len(found), 'corrupt_checkpoints': corrupt,
          'exports': exports, 'corrupt_exports': corrupt_exports}
