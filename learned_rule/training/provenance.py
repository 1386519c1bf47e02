"""What meta-training records with every export of θ.

An export's ``metadata()['extra']`` holds the step, the seed, the code's
git revision (the export's own metadata has the package version), the
operative gin config of the run, and the meta-training range as JSON: the
architectures, nonlinearities and input sizes the rule was meta-trained on,
and its inner step size α and update-network width H. Evaluations read the
range to tell transfer beyond it from transfer within it (spec §8.3,
Fig. 5) without parsing gin text.
"""

import gin

from learned_rule import package_info


def meta_training_range(distribution, rule_config):
  """The range of tasks ``distribution`` meta-trains on, as JSON values.

  Args:
    distribution: A :class:`task_distribution.TaskDistribution`.
    rule_config: The :class:`RuleConfig` of the rule being trained.

  Returns:
    ``{'datasets', 'hidden_widths', 'top_width', 'depths' (weight layers,
    top included), 'activations', 'input_dims' ({dataset: flattened input
    size}), 'max_image_size', 'batch_size', 'step_size' (α, spec §3.9),
    'hidden_size' (H, spec §3.3)}``.
  """
  return {
      'datasets': list(distribution.dataset_names),
      'hidden_widths': sorted(distribution.hidden_widths),
      'top_width': distribution.top_width,
      'depths': sorted(n + 1 for n in distribution.num_hidden_layers),
      'activations': list(distribution.activations),
      'input_dims': {name: distribution.input_dim(name)
                     for name in distribution.dataset_names},
      'max_image_size': distribution.max_image_size,
      'batch_size': distribution.batch_size,
      'step_size': rule_config.step_size,
      'hidden_size': rule_config.hidden_size,
  }


def export_metadata(step, seed, training_range, started_from=None,
                    cpu_seconds=0.0):
  """The provenance stored with an export of θ at ``step``.

  ``started_from`` (``warm_start.WarmStart.provenance()``) is recorded for
  a run that started from an earlier rule's θ; ``cpu_seconds`` is the
  process CPU time the run spent to reach ``step`` (this run's only).
  """
  metadata = {'step': int(step), 'seed': int(seed),
              'cpu_seconds': round(float(cpu_seconds), 1),
              'git_revision': package_info.git_revision(),
              'config': gin.operative_config_str(),
              'meta_training': training_range}
  if started_from is not None:
    metadata['started_from'] = dict(started_from)
  return metadata


def export_depths(distribution):
  """Depths an export of θ traces: those meta-trained on.

  Each traced depth adds about 1.5 MB to a SavedModel at the cpu.gin sizes;
  :func:`export.load_rule` runs a rule at any depth, and
  ``export.export_rule(rule, path, depths=...)`` traces others.
  """
  return sorted({n + 1 for n in distribution.num_hidden_layers})
