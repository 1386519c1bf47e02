"""Shared pytest setup for the learned_rule tests.

Quiets TensorFlow and hides any GPU before TensorFlow is first imported, so
that results do not depend on the machine, and clears the gin config around
every test.
"""

import atexit
import os
import shutil
import sys
import tempfile

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
os.environ['CUDA_VISIBLE_DEVICES'] = ''

# The repository root, for tests that run its binaries or read its files.
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# TFDS leaves an empty temporary directory behind per builder it inspects;
# every temporary file of a test run goes to one directory removed at exit.
_TEMPORARY_ROOT = tempfile.mkdtemp(prefix='learned_rule_tests_')
os.environ['TMPDIR'] = _TEMPORARY_ROOT
tempfile.tempdir = _TEMPORARY_ROOT
atexit.register(shutil.rmtree, _TEMPORARY_ROOT, ignore_errors=True)

import gin  # pylint: disable=g-import-not-at-top,wrong-import-position
import pytest  # pylint: disable=g-import-not-at-top,wrong-import-position


@pytest.fixture(autouse=True)
def clear_gin_config():
  """Gives every test an empty gin config and leaves none behind."""
  gin.clear_config()
  yield
  gin.clear_config()


def pytest_collection_modifyitems(items):
  """Drops ``tf.test.TestCase.test_session``.

  It is a deprecated helper that TensorFlow's TestCase defines, not a test;
  pytest would collect it and report it as skipped.
  """
  items[:] = [item for item in items if item.name != 'test_session']


def run_repo_binary(name, *args, timeout=600, **environment):
  """Runs ``bin/<name>.py`` with ``args``; returns the CompletedProcess."""
  import subprocess  # pylint: disable=g-import-not-at-top
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', CUDA_VISIBLE_DEVICES='',
             **environment)
  return subprocess.run(
      [sys.executable, os.path.join(REPO_ROOT, 'bin', f'{name}.py'),
       *[str(arg) for arg in args]],
      capture_output=True, text=True, env=env, timeout=timeout, check=False)


def final_theta(root_dir):
  """θ of the newest checkpoint of a meta-training run, tensor by tensor."""
  # pylint: disable=g-import-not-at-top
  from learned_rule.training import checkpoints
  from learned_rule.training import meta_trainer
  # pylint: enable=g-import-not-at-top
  _, arrays, _ = checkpoints.CheckpointManager(
      os.path.join(root_dir, 'ckpt')).restore()
  return meta_trainer.saved_theta(arrays)


@pytest.fixture(scope='session')
def tiny_meta_run(tmp_path_factory):
  """A run directory of bin/meta_train.py on meta_train/tiny.gin, as long
  as that file says (2 steps), deterministic; treat it as read-only.

  Its tasks run one after another: at these sizes, tracing the batched step
  costs more than it saves (tests/training/test_batched_tasks.py covers that path).
  """
  root = tmp_path_factory.mktemp('tiny_meta_run') / 'run'
  result = run_repo_binary('meta_train', f'--root_dir={root}',
                           '--gin_file=meta_train/tiny.gin',
                           '--export_every_steps=2', '--nobatch_tasks',
                           '--deterministic')
  assert result.returncode == 0, result.stderr[-3000:]
  return root
