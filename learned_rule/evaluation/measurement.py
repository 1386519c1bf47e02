"""One measurement: a method's features on a setting, probed at every step.

Everything that reports a few-shot number (the held-out evaluation during
meta-training, ``bin/paired_eval.py``, ``bin/apply_rule.py``, the transfer
evaluation, the ablation and the sweeps) goes through :func:`measure`: the
draws of a :class:`protocol.Setting`, the trajectory of a
:class:`protocol.FeatureMethod`, and the probe of spec §5.2/§5.3. Its
records are the rows that :mod:`results` summarises.
"""

from learned_rule.evaluation import probe


def architecture_name(widths, activation):
  """'64-64-64-32 relu': the architecture key of records and plots."""
  return '-'.join(str(w) for w in widths) + ' ' + activation


def measure(setting, method, report=None):
  """Runs ``method`` on ``setting`` and probes it at every probed step.

  Args:
    setting: A :class:`protocol.Setting`.
    method: A :class:`protocol.FeatureMethod`.
    report: Optional callable, given each record as soon as it is made.

  Returns:
    A list of records, one per step of ``setting.steps``: ``{'dataset',
    'architecture', 'widths', 'activation', 'method', 'step', 'seed'}``
    and the metrics of :data:`probe.METRICS`.
  """
  draws = setting.draws()
  records = []
  for step, features in method.trajectory(setting):
    scores = probe.score_draws(features, draws, setting.data.num_classes)
    record = {
        'dataset': setting.data.name,
        'architecture': architecture_name(setting.widths,
                                          setting.activation),
        'widths': list(setting.widths), 'activation': setting.activation,
        'method': method.name, 'step': int(step), 'seed': setting.seed,
        **scores}
    records.append(record)
    if report is not None:
      report(record)
  return records
