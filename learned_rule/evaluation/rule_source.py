"""Finding the rule to evaluate, and its θ-init baseline, from a path.

A path is either an exported rule (a SavedModel written by
:func:`export.export_rule`) or a meta-training run directory, whose
``export/`` holds the newest θ and ``export_init/`` the θ it started from.
"""

import ast
import dataclasses
import os
import re

import keras

from learned_rule import export
from learned_rule.rule import rule as rule_lib

EXPORT_DIR = 'export'
INIT_EXPORT_DIR = 'export_init'


@dataclasses.dataclass
class RuleSource:
  """A rule to evaluate with its θ-init baseline.

  Attributes:
    rule: The :class:`UnsupervisedUpdate` to evaluate.
    init_rule: The same configuration at its initial θ.
    metadata: The export's metadata (step, seed, rule config, ...).
    path: Where the rule was loaded from.
    init_description: Where θ-init came from, for the results.
  """

  rule: rule_lib.UnsupervisedUpdate
  init_rule: rule_lib.UnsupervisedUpdate
  metadata: dict
  path: str
  init_description: str

  @property
  def training(self):
    """What meta-training recorded with the export: step, seed, config."""
    return dict(self.metadata.get('extra') or {})

  def meta_training_range(self):
    """(most weight layers, widest hidden layer) meta-training used.

    Read from the operative gin config recorded with the export
    (``TaskDistribution.num_hidden_layers`` and ``.hidden_widths``); None
    where it is not recorded.
    """
    config = self.training.get('config') or ''
    values = {}
    for name in ('num_hidden_layers', 'hidden_widths'):
      match = re.search(rf'^TaskDistribution\.{name}\s*=\s*(.+)$', config,
                        re.MULTILINE)
      try:
        values[name] = ast.literal_eval(match.group(1)) if match else None
      except (ValueError, SyntaxError):
        values[name] = None
    depths, widths = values['num_hidden_layers'], values['hidden_widths']
    if not depths or not widths:
      return None
    return max(depths) + 1, max(widths)


def _is_export(path):
  return os.path.exists(os.path.join(path, 'saved_model.pb'))


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
  if not os.path.isdir(path):
    raise export.RuleLoadError(f'--rule={path}: no such directory.')
  run_init = None
  if not _is_export(path) and _is_export(os.path.join(path, EXPORT_DIR)):
    run_init = os.path.join(path, INIT_EXPORT_DIR)
    path = os.path.join(path, EXPORT_DIR)
  elif not _is_export(path):
    raise export.RuleLoadError(
        f'{path} is not a learned rule: neither an exported rule '
        f'(saved_model.pb) nor a meta-training run directory '
        f'({EXPORT_DIR}/saved_model.pb).')
  rule, metadata = export.load_rule(path)
  init_path = init_path or (run_init if run_init and _is_export(run_init)
                            else None)
  if init_path:
    init_rule, _ = export.load_rule(init_path, expected_config=rule.config)
    description = f'exported θ-init at {init_path}'
  else:
    # Meta-training records its seed with the provenance, which
    # export.rule_metadata keeps under 'extra'.
    recorded = (metadata.get('extra') or {}).get('seed')
    seed = int(recorded or 0)
    init_rule = redraw_initial_rule(rule.config, seed)
    description = f'θ-init redrawn from seed {seed}' + (
        '' if recorded is not None else
        ' (the export records no seed: θ-init may not be this rule\'s)')
  return RuleSource(rule, init_rule, metadata, path, description)
