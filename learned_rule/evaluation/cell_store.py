"""The finished work of an evaluation run directory: cells and filters.

A *cell* is one method × setting (dataset, architecture, seed) of a
transfer evaluation: its records over the probed steps (see
:mod:`measurement`), written as one JSON file under ``cells/`` the moment it
is done, so a stopped run resumes with the cells it lacks. First-layer
filters over training (paper Fig. 6, spec §8.1) go under ``filters/`` as
``.npz`` files.

What the cells depend on (the configuration, the rule, every gin binding)
is written once to the run's evaluation config; a run directory that holds
another configuration is refused, so cells of two configurations never mix.

The run directory may be on any TensorFlow filesystem (``gs://bucket/run``):
every file goes through ``tf.io.gfile``.
"""

import io
import itertools
import json

import numpy as np
import tensorflow as tf

from learned_rule.storage import atomic_files
from learned_rule.storage import file_io
from learned_rule.storage import run_dirs
from learned_rule.evaluation import measurement


def slug(text):
  """``text`` as a file-name part: alphanumerics, the rest '_'."""
  return ''.join(c if c.isalnum() else '_' for c in str(text)).strip('_')


def _file_name(*parts):
  return '__'.join(slug(part) for part in parts)


class CellStore:
  """Cells and filters of one run directory.

  Args:
    root_dir: The run directory (created when the config is checked).
    config: The run's :class:`transfer.TransferConfig`; its architectures,
      seeds and methods name the cells :meth:`records` reads.
  """

  def __init__(self, root_dir, config):
    self.root_dir = root_dir
    self.config = config

  # ------------------------------------------------------------ run config
  def check_run_config(self, description):
    """Writes ``description`` in a new run directory, or checks it.

    Args:
      description: A JSON-able dict of what the cells depend on; its
        ``'rule'`` is a path, compared after resolving links.

    Raises:
      ValueError: If the directory holds a run of another description,
        naming every key that differs.
    """
    tf.io.gfile.makedirs(self.root_dir)
    path = run_dirs.path(self.root_dir, run_dirs.EVALUATION_CONFIG)
    if not tf.io.gfile.exists(path):
      atomic_files.write_json(path, description, indent=1)
      return
    saved = json.loads(file_io.read_text(path))
    saved['rule'] = file_io.canonical(saved.get('rule', ''))
    if saved != description:
      differences = [f'{key}: {saved.get(key)!r} there, '
                     f'{description[key]!r} now'
                     for key in description if saved.get(key) !=
                     description[key]]
      raise ValueError(
          f'{self.root_dir} holds a transfer evaluation of another '
          f'configuration ({"; ".join(differences)}); use a new --root_dir '
          f'or remove it.')

  # ------------------------------------------------------------------ cells
  def cell_path(self, data_name, widths, activation, method, seed):
    name = _file_name(data_name,
                      measurement.architecture_name(widths, activation),
                      method, f'seed{seed}')
    return run_dirs.path(self.root_dir, run_dirs.CELLS, name + '.json')

  def has_cell(self, data_name, widths, activation, method, seed):
    return tf.io.gfile.exists(
        self.cell_path(data_name, widths, activation, method, seed))

  def write_cell(self, data_name, widths, activation, method, seed, records):
    atomic_files.write_json(
        self.cell_path(data_name, widths, activation, method, seed), records,
        indent=1)

  def records(self, dataset_names=None):
    """All records of the config's finished cells (of ``dataset_names``,
    by default the config's datasets)."""
    config = self.config
    found = []
    for name, (widths, activation), seed, method in itertools.product(
        dataset_names or config.datasets, config.architectures(),
        config.seeds, config.methods):
      path = self.cell_path(name, widths, activation, method, seed)
      if tf.io.gfile.exists(path):
        found.extend(json.loads(file_io.read_text(path)))
    return found

  # ---------------------------------------------------------------- filters
  def filter_path(self, data_name, widths, activation, method):
    name = _file_name(data_name,
                      measurement.architecture_name(widths, activation),
                      method)
    return run_dirs.path(self.root_dir, run_dirs.FILTERS, name + '.npz')

  def write_filters(self, data_name, widths, activation, method, history):
    """Saves ``history``, ``[(step, weights [D, n])]``, atomically."""
    path = self.filter_path(data_name, widths, activation, method)
    with atomic_files.replacing(path, binary=True) as stream:
      np.savez(stream, steps=np.array([step for step, _ in history]),
               weights=np.stack([weights for _, weights in history]))

  def read_filters(self, data_name, widths, activation, method):
    """The history :meth:`write_filters` saved, or None."""
    path = self.filter_path(data_name, widths, activation, method)
    if not tf.io.gfile.exists(path):
      return None
    with np.load(io.BytesIO(file_io.read_bytes(path))) as saved:
      return list(zip(saved['steps'].tolist(), saved['weights']))
