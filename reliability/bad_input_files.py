"""Bad files for the bad-input campaign (:mod:`reliability.bad_inputs`).

Each builder writes under a directory it is given and returns the path to
name on a command line. Images, arrays and texts are written here with
NumPy and Pillow; a damaged rule is a copy of the shipped rule
``cpu_60min`` with one file spoilt; what needs TensorFlow (a foreign
SavedModel, a checkpoint) is written by a short ``python -c`` subprocess,
so that the campaign's own process never loads TensorFlow.
"""

import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
from PIL import Image

REPO_ROOT = pathlib.Path(__file__).absolute().parents[1]
SHIPPED_RULE = REPO_ROOT / 'learned_rule' / 'rules' / 'cpu_60min'
# Seconds a setup subprocess may take (a TensorFlow import and a save).
SETUP_TIMEOUT = 120
_IMAGE_SIZE = 8


def image_directory(directory, counts, size=_IMAGE_SIZE):
  """``directory/<class>/<i>.png``: ``counts`` maps class → images."""
  directory = pathlib.Path(directory)
  rng = np.random.RandomState(0)
  for name, count in counts.items():
    (directory / name).mkdir(parents=True, exist_ok=True)
    for index in range(count):
      pixels = rng.randint(0, 256, (size, size), dtype=np.uint8)
      Image.fromarray(pixels).save(directory / name / f'{index}.png')
  directory.mkdir(parents=True, exist_ok=True)
  return directory


def truncate(path, keep=0.5):
  """Cuts ``path`` to ``keep`` of its bytes (a fraction or a count)."""
  data = pathlib.Path(path).read_bytes()
  count = keep if isinstance(keep, int) else int(len(data) * keep)
  pathlib.Path(path).write_bytes(data[:count])
  return path


def npz_file(path, **arrays):
  """``numpy.savez(path, **arrays)``; object arrays are allowed."""
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  with open(path, 'wb') as stream:
    np.savez(stream, **arrays)
  return path


def image_arrays(counts, size=_IMAGE_SIZE):
  """``(images uint8 [N, size, size], labels [N])`` of ``counts`` per class
  (class ``c`` has label ``c``)."""
  rng = np.random.RandomState(0)
  labels = np.concatenate([np.full(count, label, np.int64)
                           for label, count in enumerate(counts)])
  images = rng.randint(0, 256, (len(labels), size, size), dtype=np.uint8)
  return images, labels


def text_directory(directory, counts, empty=()):
  """``directory/<class>/<i>.txt`` of a few words each; the files named in
  ``empty`` (``(class, index)``) are left empty."""
  directory = pathlib.Path(directory)
  directory.mkdir(parents=True, exist_ok=True)
  for name, count in counts.items():
    (directory / name).mkdir(parents=True, exist_ok=True)
    for index in range(count):
      words = '' if (name, index) in empty else f'{name} word{index} text'
      (directory / name / f'{index}.txt').write_text(words)
  return directory


def copied_rule(directory):
  """A copy of the shipped rule ``cpu_60min`` (a run directory layout)."""
  target = pathlib.Path(directory) / 'rule'
  shutil.copytree(SHIPPED_RULE, target)
  return target


def damaged_rule(directory, damage):
  """A copy of the shipped rule whose ``export/`` is damaged.

  Args:
    directory: Where the copy goes (as ``directory/rule``).
    damage: 'truncated_pb' (saved_model.pb cut to 1 kB), 'empty_pb' (0
      bytes), 'truncated_variables' (the variables' data cut in half),
      'no_variables' (variables/ removed), or 'format_version_N' (the
      metadata says format version N, as an export of another package
      version would; the byte count stays the same).

  Returns:
    The copy's directory.
  """
  rule = copied_rule(directory)
  export = rule / 'export'
  if damage == 'truncated_pb':
    truncate(export / 'saved_model.pb', 1024)
  elif damage == 'empty_pb':
    truncate(export / 'saved_model.pb', 0)
  elif damage == 'truncated_variables':
    truncate(export / 'variables' / 'variables.data-00000-of-00001')
  elif damage == 'no_variables':
    shutil.rmtree(export / 'variables')
  elif damage.startswith('format_version_'):
    version = damage.rpartition('_')[2].encode()
    path = export / 'saved_model.pb'
    old = b'"format_version": 1'
    data = path.read_bytes()
    if data.count(old) != 1 or len(version) != 1:
      raise ValueError(f'Cannot set format version {version} in {path}.')
    path.write_bytes(data.replace(old, b'"format_version": ' + version))
  else:
    raise ValueError(f'Unknown damage {damage!r}.')
  return rule


def _python(code, **environment):
  """Runs ``code`` in a fresh interpreter from the repository root."""
  env = dict(os.environ, CUDA_VISIBLE_DEVICES='', TF_CPP_MIN_LOG_LEVEL='3',
             **environment)
  result = subprocess.run([sys.executable, '-c', code], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True,
                          timeout=SETUP_TIMEOUT, check=False)
  if result.returncode:
    raise RuntimeError(f'Setup failed:\n{code}\n{result.stderr[-2000:]}')


def foreign_saved_model(directory):
  """A SavedModel of a plain ``tf.Module``, not a learned rule."""
  target = pathlib.Path(directory) / 'foreign'
  _python('import tensorflow as tf\n'
          'module = tf.Module()\n'
          'module.weight = tf.Variable([1.0, 2.0])\n'
          'module.double = tf.function(lambda x: 2 * x, input_signature=['
          'tf.TensorSpec([None], tf.float32)])\n'
          f'tf.saved_model.save(module, {str(target)!r})\n')
  return target


def checkpointed_run(directory, gin_file='meta_train/tiny.gin'):
  """A meta-training run directory with a checkpoint of step 0 of
  ``gin_file``'s configuration, written without training."""
  root = pathlib.Path(directory) / 'run'
  _python(
      'from learned_rule import configuration\n'
      'from learned_rule.tasks import distribution as task_distribution\n'
      'from learned_rule.evaluation import held_out\n'
      'from learned_rule.update_rule import config, rule\n'
      'from learned_rule.training import checkpoints, loop, meta_trainer\n'
      f'configuration.parse_gin([{gin_file!r}], [])\n'
      'trainer = meta_trainer.MetaTrainer(\n'
      '    rule.UnsupervisedUpdate(config.RuleConfig()),\n'
      '    task_distribution.TaskDistribution(), xla_step=False)\n'
      f'trainer.save(checkpoints.CheckpointManager({str(root / "ckpt")!r}))\n')
  return root
