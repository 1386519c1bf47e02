"""Runs in TensorBoard's HParams dashboard, with their key settings.

Meta-training writes its settings into its own summaries (one run of the
dashboard per run directory); a transfer evaluation writes one dashboard
run per dataset × architecture × method under ``<root_dir>/tensorboard``,
each with its accuracy at every probed step. ``tensorboard
--logdir=runs`` then lists meta-training runs and transfer results side by
side, filterable by setting.
"""

import json
import numbers

import tensorflow as tf
from tensorboard.plugins.hparams import api as hparams_api


def _value(value):
  """A setting as the dashboard takes it: bool, int, float or str."""
  if isinstance(value, (bool, str)):
    return value
  if isinstance(value, numbers.Integral):
    return int(value)
  if isinstance(value, numbers.Real):
    return float(value)
  if value is None:
    return 'none'
  return json.dumps(value, sort_keys=True, default=str)


def dashboard_values(settings):
  """``settings`` with every value made a bool, int, float or str."""
  return {str(key): _value(value) for key, value in settings.items()}


def write_settings(writer, settings, trial_id=None):
  """Writes ``settings`` as the HParams session of ``writer``'s run.

  Args:
    writer: A ``tf.summary`` writer, e.g. from ``create_file_writer``.
    settings: Dict of names to values (lists and dicts become JSON).
    trial_id: Optional name of the session in the dashboard.
  """
  with writer.as_default():
    hparams_api.hparams(dashboard_values(settings), trial_id=trial_id)
  writer.flush()


def write_run(logdir, settings, curves, trial_id=None):
  """One dashboard run: its settings and scalar curves.

  Args:
    logdir: The run's directory.
    settings: As for :func:`write_settings`.
    curves: Dict tag → list of ``(step, value)``.
    trial_id: Optional name of the session.
  """
  writer = tf.summary.create_file_writer(logdir)
  try:
    write_settings(writer, settings, trial_id)
    with writer.as_default():
      for tag, points in curves.items():
        for step, value in points:
          tf.summary.scalar(tag, float(value), step=int(step))
  finally:
    writer.close()


def write_experiment(logdir, setting_names, metric_tags):
  """The dashboard's columns: settings to filter by, metrics to show."""
  writer = tf.summary.create_file_writer(logdir)
  try:
    with writer.as_default():
      hparams_api.hparams_config(
          hparams=[hparams_api.HParam(name) for name in setting_names],
          metrics=[hparams_api.Metric(tag) for tag in metric_tags])
  finally:
    writer.close()
