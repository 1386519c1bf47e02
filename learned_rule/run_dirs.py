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
                        × method (learned_rule/hparams.py)

Both hold ``.lock``, the lock of the process running in them
(:mod:`learned_rule.run_lock`).

A shipped rule (``rules/NAME/``) has the layout of a meta-training run, so
every binary that takes a run directory takes it too.

A run directory may be a local path or the URL of any TensorFlow filesystem
(``gs://bucket/run``; see :mod:`learned_rule.file_io`), except the local
cluster's ``logs/``, which are local files.
"""

import os

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
DASHBOARD = 'tensorboard'


def path(root_dir, name, *parts):
  """``root_dir/name/parts...``: a named file or folder of a run."""
  return os.path.join(root_dir, name, *parts)
