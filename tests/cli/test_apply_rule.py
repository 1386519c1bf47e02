"""The apply_rule binary end to end, its errors, and the progress display."""

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO_ROOT
from learned_rule import progress
from learned_rule import version
from learned_rule.data import digits
from learned_rule.data import registry
from learned_rule.data import sampling
from learned_rule.evaluation import held_out
from learned_rule.evaluation import measurement
from learned_rule.evaluation import rule_methods
from learned_rule.update_rule import config as config_lib
from learned_rule.update_rule import rule as rule_lib

REPO = REPO_ROOT
SMALL_RULE = [
    'RuleConfig.hidden_size = 6', 'RuleConfig.delta_dim = 3',
    'RuleConfig.num_grad_channels = 2', 'RuleConfig.top_signal_channels = 5',
    'RuleConfig.top_width = 4', 'HeldOutEvaluation.widths = (8, 4)',
    'HeldOutEvaluation.batch_size = 16', 'HeldOutEvaluation.num_draws = 1',
    'HeldOutEvaluation.steps = 4', 'HeldOutEvaluation.jit_compile = False',
]


def run_binary(*args):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', CUDA_VISIBLE_DEVICES='')
  return subprocess.run(
      [sys.executable, os.path.join(REPO, 'bin', 'apply_rule.py'), *args],
      capture_output=True, text=True, env=env, timeout=300, check=False)


def test_binary_reports_every_evaluation_and_writes_json(tmp_path):
  output = tmp_path / 'evaluations.json'
  result = run_binary('--eval_every=2', '--seed=3', f'--output_json={output}',
                      *[f'--gin_bindings={b}' for b in SMALL_RULE])
  assert result.returncode == 0, result.stderr[-3000:]
  written = json.loads(output.read_text())
  assert written['package_version'] == version.__version__
  assert written['rule'].startswith('θ-init')
  records = written['records']
  assert [r['step'] for r in records] == [0, 2, 4]
  assert {r['method'] for r in records} == {'theta_init'}
  assert {r['seed'] for r in records} == {3}
  for record in records:
    assert 0.0 <= record['ridge_accuracy'] <= 1.0
    assert 0.0 <= record['logistic_accuracy'] <= 1.0
    assert np.isfinite(record['meta_objective'])
  assert 'meta-objective' in result.stdout
  assert 'applying rule' in result.stderr


def test_binary_rejects_unknown_gin_binding_before_compute():
  result = run_binary('--gin_bindings=RuleConfig.hiden_size = 3')
  assert result.returncode != 0
  assert 'hiden_size' in result.stderr
  assert 'Applying' not in result.stdout


def test_binary_rejects_unknown_dataset_and_lists_known_ones():
  result = run_binary(*[f'--gin_bindings={b}' for b in SMALL_RULE],
                      "--gin_bindings=HeldOutEvaluation.dataset = 'mnsit'")
  assert result.returncode != 0
  assert 'mnsit' in result.stderr and 'digits' in result.stderr


def test_binary_rejects_a_base_model_the_rule_cannot_train():
  result = run_binary(*[f'--gin_bindings={b}' for b in SMALL_RULE],
                      '--gin_bindings=HeldOutEvaluation.widths = (8, 5)')
  assert result.returncode != 0
  assert 'top' in result.stderr and 'Applying' not in result.stdout


def test_binary_rejects_missing_rule(tmp_path):
  result = run_binary(f'--rule={tmp_path / "nothing"}')
  assert result.returncode != 0
  assert 'no such directory' in result.stderr


def test_applying_a_rule_is_deterministic_given_the_seed():
  rule = rule_lib.UnsupervisedUpdate(config_lib.RuleConfig(
      top_width=4, hidden_size=6, delta_dim=3, num_grad_channels=2,
      top_signal_channels=5, step_size=0.05))
  evaluation = held_out.HeldOutEvaluation(
      widths=(8, 4), batch_size=16, num_draws=1, steps=3, jit_compile=False)
  data = digits.load_digits()
  method = rule_methods.RuleMethod(rule, jit_compile=False)

  def measured(seed):
    return measurement.measure(evaluation.setting(data, seed), method)

  first, second, other = measured(1), measured(1), measured(2)
  assert first == second
  assert first[-1]['meta_objective'] != other[-1]['meta_objective']
  assert first[0]['meta_objective'] != first[-1]['meta_objective']


def test_registry_lists_available_datasets():
  assert registry.load('digits').num_classes == 10
  with pytest.raises(ValueError, match='available: alphabet, cifar10, debian_descriptions, digits'):
    registry.load('cifar100')


def test_few_shot_batch_is_balanced_and_disjoint():
  data = digits.load_digits()
  batch = sampling.few_shot_batch(data, np.random.default_rng(0), shots=5)
  assert np.bincount(batch.support_y).tolist() == [5] * 10
  assert np.bincount(batch.query_y).tolist() == [5] * 10
  support = {row.tobytes() for row in batch.support_x}
  assert not support & {row.tobytes() for row in batch.query_x}
  with pytest.raises(ValueError, match='needed'):
    sampling.few_shot_batch(data, np.random.default_rng(0), shots=200)


def test_progress_line_shows_rate_eta_and_values():
  stream = io.StringIO()
  bar = progress.Progress(10, 'work', stream=stream, min_interval=0.0)
  bar.update(5, {'loss': 0.5})
  assert bar.done == 5
  bar.update(7)  # Past the total: counted up to it.
  assert bar.done == 10
  lines = [line for line in stream.getvalue().replace('\r', '\n').split('\n')
           if line.strip()]
  halfway = [line for line in lines if '5/10' in line]
  assert halfway and halfway[0].startswith('work:  50%')
  assert 'step/s' in halfway[0] and 'loss=0.5' in halfway[0]
  assert '<' in halfway[0]  # elapsed<remaining
  assert '10/10' in lines[-1] and lines[-1].startswith('work: 100%')
