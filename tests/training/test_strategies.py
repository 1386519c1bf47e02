"""Meta-training under distribution strategies: parameter servers (in-process
clusters on localhost), mirrored replicas on logical CPU devices, and the
errors of a strategy without what it needs."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from conftest import REPO_ROOT
from conftest import final_theta
from learned_rule.training import parameter_server
from learned_rule.training import strategies

REPO = REPO_ROOT


def run_case(case):
  """Runs ``tests/strategy_runs.py CASE`` in a fresh interpreter."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', CUDA_VISIBLE_DEVICES='')
  env.pop('TF_CONFIG', None)
  result = subprocess.run(
      [sys.executable, os.path.join(REPO, 'tests', 'strategy_runs.py'), case],
      capture_output=True, text=True, env=env, timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  return json.loads(result.stdout.strip().splitlines()[-1])


def run_meta_train(root_dir, *args):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', CUDA_VISIBLE_DEVICES='')
  env.pop('TF_CONFIG', None)
  return subprocess.run(
      [sys.executable, os.path.join(REPO, 'bin', 'meta_train.py'),
       f'--root_dir={root_dir}', '--gin_file=meta_train/tiny.gin', *args],
      capture_output=True, text=True, env=env, timeout=600, check=False)


def test_unknown_strategy_is_refused():
  with pytest.raises(ValueError, match='parameter_server'):
    strategies.make_strategy('horovod')


def test_parameter_server_without_a_cluster_says_what_is_missing(
    monkeypatch):
  monkeypatch.delenv('TF_CONFIG', raising=False)
  with pytest.raises(ValueError, match='TF_CONFIG'):
    strategies.make_strategy('parameter_server')


def test_synchronous_parameter_server_updates_equal_local_ones():
  found = run_case('parameter_server_equals_local')
  # θ and the meta-optimizer's slots live on the parameter server.
  assert found['theta_device'].startswith('/job:ps/')
  assert found['slot_device'].startswith('/job:ps/')
  # One update: the same θ to float32 rounding; later ones drift only by
  # that rounding, amplified by Adam's first steps (updates are ~1e-3).
  assert found['differences'][0] < 1e-6
  assert found['differences'][-1] < 1e-3
  assert found['step'] == 3 and found['iterations'] == 3
  assert found['staleness'] == [0.0, 0.0, 0.0]


def test_asynchronous_updates_are_stale_counted_once_and_learn():
  found = run_case('parameter_server_async_learns')
  # One gradient per update with two tasks in flight: after the first
  # update the other task's gradient was computed against the older θ.
  assert found['staleness'][0] == 0.0
  assert max(found['staleness']) >= 1.0
  # Every update counted exactly once, by the step and by the optimizer.
  assert found['step'] == 12 and found['iterations'] == 12
  assert found['after'] < found['before']


def test_mirrored_on_two_logical_cpus_equals_local(tmp_path, tiny_meta_run):
  # tiny_meta_run is the local run: the same 2 deterministic steps.
  mirrored = run_meta_train(tmp_path / 'mirrored', '--strategy=mirrored',
                            '--logical_cpu_devices=2', '--num_steps=2',
                            '--deterministic', '--filters_every_steps=0',
                            '--noxla_step')
  assert mirrored.returncode == 0, mirrored.stderr[-3000:]
  for ours, theirs in zip(final_theta(tmp_path / 'mirrored'),
                          final_theta(tiny_meta_run)):
    np.testing.assert_allclose(ours, theirs, atol=1e-3)
  assert (tmp_path / 'mirrored' / 'export' / 'saved_model.pb').exists()


# -- Results lost with their worker (AsyncStepper._fetch). ---------------------


class _Lost:
  """A finished function's result on a worker that has since died."""

  def __init__(self, where):
    self.where = where

  def fetch(self):
    raise tf.errors.UnavailableError(
        None, None, f'failed to connect to all addresses; from remote target '
        f'{self.where}/device:CPU:0 while calling EagerService/Enqueue')


class _Finished:

  def fetch(self):
    return 'gradient'


def _stepper(results):
  """An AsyncStepper without a cluster: ``_dispatch`` records each task
  scheduled again and hands out ``results`` in turn."""
  stepper = parameter_server.AsyncStepper.__new__(parameter_server.AsyncStepper)
  stepper.dispatched = []
  results = iter(results)

  def dispatch(task, arguments):
    stepper.dispatched.append((task, arguments))
    return next(results)

  stepper._dispatch = dispatch  # pylint: disable=protected-access
  return stepper


def test_a_result_lost_with_its_worker_is_computed_again():
  stepper = _stepper([_Finished()])
  lost = _Lost('/job:worker/replica:0/task:1')
  assert stepper._fetch('task', ('state',), lost) == 'gradient'  # pylint: disable=protected-access
  assert stepper.dispatched == [('task', ('state',))]


def test_a_task_whose_workers_keep_dying_fails_after_a_few_tries():
  stepper = _stepper([_Lost('/job:worker/replica:0/task:0')] * 10)
  with pytest.raises(tf.errors.UnavailableError):
    stepper._fetch('task', (), _Lost('/job:worker/replica:0/task:1'))  # pylint: disable=protected-access
  assert len(stepper.dispatched) == parameter_server._RESCHEDULES  # pylint: disable=protected-access


def test_a_lost_parameter_server_stops_with_a_message():
  stepper = _stepper([])
  with pytest.raises(parameter_server.ParameterServerError,
                     match='parameter server is unreachable'):
    stepper._fetch('task', (), _Lost('/job:ps/replica:0/task:0'))  # pylint: disable=protected-access
  assert not stepper.dispatched
