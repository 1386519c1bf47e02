"""Tests of starting a meta-training run from an earlier rule's θ
(learned_rule/training/warm_start.py, ``bin/meta_train.py --start_from``)."""

import os

import gin
import keras
import numpy as np
import pytest

from learned_rule import configuration
from learned_rule import export
# Its configurables appear in the gin files that meta-training reads.
from learned_rule.evaluation import held_out  # pylint: disable=unused-import
from learned_rule.evaluation import rule_source
from learned_rule.update_rule import config as config_lib
from learned_rule.update_rule import rule as rule_lib
from learned_rule.training import loop
from learned_rule.training import warm_start
from conftest import run_repo_binary

TINY = 'meta_train/tiny.gin'


def _rule_at_seed(config, seed):
  keras.utils.set_random_seed(seed)
  return rule_lib.UnsupervisedUpdate(config)


def _values(rule):
  return [v.numpy() for v in rule.trainable_variables]


def test_a_rule_of_another_configuration_is_refused_by_field(tmp_path):
  configuration.parse_gin([TINY], [])
  other = config_lib.RuleConfig(hidden_size=7)
  start = warm_start.WarmStart(rule=_rule_at_seed(other, 1),
                               init_rule=_rule_at_seed(other, 2),
                               path='/elsewhere', updates_before=0)
  with pytest.raises(ValueError, match=r'/elsewhere.*hidden_size: 7 vs 6'):
    loop.train(str(tmp_path / 'run'), num_steps=1, start_from=start,
               log=lambda message: None)
  assert not os.path.exists(tmp_path / 'run' / 'export_init')


def test_updates_behind_adds_up_the_chain_of_runs():
  assert warm_start.updates_behind({}) == 0
  assert warm_start.updates_behind({'extra': {'step': 30}}) == 30
  assert warm_start.updates_behind({'extra': {
      'step': 30, 'started_from': {'updates_before': 501}}}) == 531


def test_a_run_starts_from_another_runs_theta_and_keeps_its_init(
    tmp_path, tiny_meta_run):
  root = tmp_path / 'continued'
  # Another seed than the run it starts from, so that this run's own θ-init
  # differs from the θ it must start from.
  result = run_repo_binary('meta_train', f'--root_dir={root}',
                           f'--gin_file={TINY}', '--nobatch_tasks', '--seed=1',
                           '--num_steps=1', f'--start_from={tiny_meta_run}')
  assert result.returncode == 0, result.stderr[-3000:]
  output = result.stdout + result.stderr
  assert 'Started from θ at' in output and '(2 θ updates behind it)' in output
  trained, metadata = export.load_rule(str(root / 'export'))
  assert metadata['extra']['started_from']['updates_before'] == 2
  assert metadata['extra']['started_from']['path'] == str(tiny_meta_run)
  assert warm_start.updates_behind(metadata) == 3
  start, _ = export.load_rule(str(tiny_meta_run / 'export'))
  configuration.parse_gin([TINY], [])
  own_init = _values(_rule_at_seed(config_lib.RuleConfig(), 1))
  learning_rate = gin.query_parameter('meta_optimizer.learning_rate')
  # One Adam step moves each entry by at most about the learning rate; the
  # tensors that two draws set apart (not those initialised to zero) stay
  # far from this run's own θ-init.
  apart = 0
  for after, began, own in zip(_values(trained), _values(start), own_init):
    assert np.max(np.abs(after - began)) <= 1.5 * learning_rate
    if np.max(np.abs(began - own)) > 20 * learning_rate:
      apart += 1
      assert np.max(np.abs(after - own)) > 10 * learning_rate
  assert apart > 0
  # θ-init is the one the started-from θ descends from, not this seed's.
  ours, init_metadata = export.load_rule(str(root / 'export_init'))
  theirs, _ = export.load_rule(str(tiny_meta_run / 'export_init'))
  for a, b in zip(_values(ours), _values(theirs)):
    np.testing.assert_array_equal(a, b)
  assert 'started_from' not in init_metadata['extra']
  # Resumed without the flag: the checkpoint recorded the start.
  resumed = run_repo_binary('meta_train', f'--root_dir={root}',
                            f'--gin_file={TINY}', '--nobatch_tasks',
                            '--seed=1', '--num_steps=2')
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  _, metadata = export.load_rule(str(root / 'export'))
  assert metadata['extra']['step'] == 2
  assert metadata['extra']['started_from']['path'] == str(tiny_meta_run)
  assert warm_start.updates_behind(metadata) == 4


def test_the_binary_refuses_a_shipped_rule_of_another_size(tmp_path):
  result = run_repo_binary('meta_train', f'--root_dir={tmp_path / "run"}',
                           f'--gin_file={TINY}', '--nobatch_tasks',
                           '--num_steps=1', '--start_from=cpu_60min')
  assert result.returncode != 0
  assert 'hidden_size: 32 vs 6' in result.stderr
  assert 'Traceback' not in result.stderr


def test_reports_count_the_updates_of_earlier_runs():
  def note(training):
    return rule_source.RuleSource(None, None, {'extra': training},
                                  '/rules/x', '').compute_note()
  assert note({'step': 300}) == '300 θ updates of meta-training (/rules/x)'
  assert note({'step': 300, 'started_from': {'updates_before': 501}}) == (
      '801 θ updates of meta-training, 501 of them before the run that '
      'exported it (/rules/x)')
