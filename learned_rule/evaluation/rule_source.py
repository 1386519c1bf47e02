"""Finding the rule to evaluate, and its θ-init baseline, from a path.

A path is either an exported rule (a SavedModel written by
:func:`export.export_rule`) or a meta-training run directory, whose
``export/`` holds the newest θ and ``export_init/`` the θ it started from.
"""

import dataclasses

import keras
import tensorflow as tf

from learned_rule import export
from learned_rule.storage import file_io
from learned_rule.storage import run_dirs
from learned_rule.update_rule import rule as rule_lib


@dataclasses.dataclass
class RuleSource:
  """A rule to evaluate with its θ-init baseline.

  Attributes:
    rule: The :class:`UnsupervisedUpdate` to evaluate.
    init_rule: The same configuration at its initial θ.
    metadata: The export's metadata (step, seed, rule config, ...).
    path: Where the rule was loaded from.
    init_description: Where θ-init came from, for the results.
    init_path: The exported θ-init loaded, None where it was redrawn.
  """

  rule: rule_lib.UnsupervisedUpdate
  init_rule: rule_lib.UnsupervisedUpdate
  metadata: dict
  path: str
  init_description: str
  init_path: str = None

  def compute_note(self):
    """How much meta-training the rule had (the paper's: spec §10), with
    the updates of the runs it was started from."""
    step = self.training.get('step')
    before = (self.training.get('started_from') or {}).get('updates_before')
    shown = file_io.shown(self.path)
    if before and step is not None:
      return (f'{int(step) + int(before)} θ updates of meta-training, '
              f'{before} of them before the run that exported it ({shown})')
    return f'{step} θ updates of meta-training ({shown})'

  def init_identity(self):
    """Where θ-init came from, with the full path of an exported one: what
    a resumed evaluation must find unchanged."""
    if self.init_path is None:
      return self.init_description
    return f'{INIT_EXPORTED} {file_io.canonical(self.init_path)}'

  @property
  def training(self):
    """What meta-training recorded with the export: step, seed, config."""
    return dict(self.metadata.get('extra') or {})

  def meta_training_range(self):
    """(most weight layers, widest hidden layer) meta-training used.

    Read from the meta-training range recorded with the export
    (``training/provenance.py``); None where it is not recorded.
    """
    recorded = self.training.get('meta_training') or {}
    depths, widths = recorded.get('depths'), recorded.get('hidden_widths')
    if not depths or not widths:
      return None
    return max(depths), max(widths)


# How results name an exported θ-init, before its path.
INIT_EXPORTED = 'exported θ-init at'


def redraw_initial_rule(config, seed):
  """θ-init as meta-training draws it: a fresh rule after seeding Keras.

  ``training.loop.train`` seeds Keras with its seed, then builds the rule,
  so the same seed and configuration give the same θ-init.
  """
  keras.utils.set_random_seed(seed)
  return rule_lib.UnsupervisedUpdate(config)


def load(path, init_path=None):
  """Loads the rule at ``path`` and its θ-init baseline.

  Args:
    path: An exported rule or a meta-training run directory.
    init_path: Optional exported θ-init; by default the run directory's
      ``export_init/``, else θ-init redrawn from the seed in the metadata.

  Returns:
    A :class:`RuleSource`.

  Raises:
    RuleLoadError: ``path`` is neither, or an export is unusable.
  """
  if not tf.io.gfile.isdir(path):
    raise export.RuleLoadError(
        f'--rule={path}: no such directory. Give an exported rule (a '
        f'directory with saved_model.pb), a meta-training run directory or a '
        f'shipped rule\'s name (learned_rule.rules.available()).')
  run_init = None
  if not export.is_export(path) and export.is_export(
      run_dirs.path(path, run_dirs.EXPORT)):
    run_init = run_dirs.path(path, run_dirs.EXPORT_INIT)
    path = run_dirs.path(path, run_dirs.EXPORT)
  elif not export.is_export(path):
    raise export.RuleLoadError(
        f'{path} is not a learned rule: neither an exported rule '
        f'(saved_model.pb) nor a meta-training run directory '
        f'({run_dirs.EXPORT}/saved_model.pb).')
  rule, metadata = export.load_rule(path)
  init_path = init_path or (run_init if run_init and
                            export.is_export(run_init)
                            else None)
  if init_path:
    init_rule, _ = export.load_rule(init_path, expected_config=rule.config)
    description = f'{INIT_EXPORTED} {file_io.shown(init_path)}'
  else:
    # Meta-training records its seed with the provenance, which
    # export.rule_metadata keeps under 'extra'.
    recorded = (metadata.get('extra') or {}).get('seed')
    seed = int(recorded or 0)
    init_rule = redraw_initial_rule(rule.config, seed)
    description = f'θ-init redrawn from seed {seed}' + (
        '' if recorded is not None else
        ' (the export records no seed: θ-init may not be this rule\'s)')
  return RuleSource(rule, init_rule, metadata, path, description, init_path)
