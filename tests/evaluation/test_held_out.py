"""The paired held-out evaluation: one protocol, one probe, paired seeds."""

import numpy as np
import pytest

from learned_rule.data import digits
from learned_rule.evaluation import held_out
from learned_rule.reporting import method_names
from learned_rule.update_rule import config as config_lib
from learned_rule.update_rule import rule as rule_lib

SMALL = dict(top_width=4, hidden_size=6, delta_dim=3, num_grad_channels=2,
             top_signal_channels=5)


@pytest.fixture(scope='module')
def rules():
  trained = rule_lib.UnsupervisedUpdate(config_lib.RuleConfig(
      step_size=0.05, **SMALL))
  init = rule_lib.UnsupervisedUpdate(config_lib.RuleConfig(
      step_size=0.05, **SMALL))
  return trained, init


@pytest.fixture(scope='module')
def evaluation():
  return held_out.HeldOutEvaluation(
      seeds=(0, 1, 2), steps=3, widths=(8, 4), batch_size=16, num_draws=1,
      jit_compile=False)


@pytest.fixture(scope='module')
def records(rules, evaluation):
  return evaluation.run(evaluation.methods(*rules), digits.load_digits())


def _by(records, method, step):
  return {r['seed']: r for r in records
          if r['method'] == method and r['step'] == step}


def test_every_method_and_seed_is_probed_before_and_after(records):
  assert len(records) == 3 * 3 * 2
  assert {r['method'] for r in records} == set(method_names.RULE_METHODS)
  assert {r['step'] for r in records} == {0, 3}


def test_methods_share_the_base_model_and_draws_at_step_zero(records):
  # Same seed: the same φ_0 and the same few-shot draws, so step 0 is the
  # same measurement for every method (the pairing).
  for method in (method_names.THETA_INIT, method_names.RANDOM_INIT):
    for seed, record in _by(records, method, 0).items():
      ours = _by(records, method_names.LEARNED_RULE, 0)[seed]
      assert record['ridge_accuracy'] == ours['ridge_accuracy']
      assert record['meta_objective'] == ours['meta_objective']


def test_random_init_never_changes_and_the_rule_does(records):
  for seed in (0, 1, 2):
    assert (_by(records, method_names.RANDOM_INIT, 3)[seed]['meta_objective']
            == _by(records, method_names.RANDOM_INIT, 0)[seed][
                'meta_objective'])
    assert (_by(records, method_names.LEARNED_RULE, 3)[seed][
        'meta_objective'] != _by(records, method_names.LEARNED_RULE, 0)[
            seed]['meta_objective'])


def test_final_differences_are_paired_over_seeds(records):
  differences = held_out.final_differences(records)
  assert set(differences) == {method_names.THETA_INIT,
                              method_names.RANDOM_INIT}
  row = differences[method_names.RANDOM_INIT]
  ours = _by(records, method_names.LEARNED_RULE, 3)
  theirs = _by(records, method_names.RANDOM_INIT, 3)
  expected = [ours[s]['ridge_accuracy'] - theirs[s]['ridge_accuracy']
              for s in (0, 1, 2)]
  assert row['step'] == 3 and row['n'] == 3
  assert row['mean'] == pytest.approx(np.mean(expected))
  assert row['std_error'] == pytest.approx(
      np.std(expected, ddof=1) / np.sqrt(3))


def test_final_means_average_the_last_step(records):
  means = held_out.final_means(records)
  assert means[method_names.THETA_INIT] == pytest.approx(np.mean(
      [r['ridge_accuracy'] for r in
       _by(records, method_names.THETA_INIT, 3).values()]))


def test_training_callback_returns_the_scalars_training_writes(rules,
                                                               evaluation):
  callback = held_out.TrainingCallback(evaluation)
  scalars = callback(*rules)
  assert set(scalars) == {
      'held_out/ridge_accuracy/learned_rule',
      'held_out/ridge_accuracy/theta_init',
      'held_out/ridge_accuracy/random_init',
      'held_out/learned_rule_minus_theta_init',
      'held_out/learned_rule_minus_theta_init_stderr',
      'held_out/learned_rule_minus_random_init',
      'held_out/learned_rule_minus_random_init_stderr'}
  assert all(np.isfinite(value) for value in scalars.values())


def _counting_measure(monkeypatch):
  counts = {}
  measure = held_out.measurement.measure

  def counted(setting, method, report=None):
    counts[method.name] = counts.get(method.name, 0) + 1
    return measure(setting, method, report)
  monkeypatch.setattr(held_out.measurement, 'measure', counted)
  return counts


def test_the_callback_measures_the_baselines_once_per_theta_init(
    rules, evaluation, monkeypatch):
  trained, init = rules
  counts = _counting_measure(monkeypatch)
  callback = held_out.TrainingCallback(evaluation)
  callback(trained, init)
  assert counts == {name: 3 for name in method_names.RULE_METHODS}
  # Meta-training moves θ; the baselines come from the first call.
  saved = [np.asarray(v).copy() for v in trained.trainable_variables]
  try:
    for variable in trained.trainable_variables:
      variable.assign(variable * 1.5)
    second = callback(trained, init)
    assert counts[method_names.LEARNED_RULE] == 6
    assert counts[method_names.THETA_INIT] == 3
    assert counts[method_names.RANDOM_INIT] == 3
    fresh = evaluation.run(evaluation.methods(trained, init), callback.data)
  finally:
    for variable, value in zip(trained.trainable_variables, saved):
      variable.assign(value)
  # Reused baselines are what a fresh evaluation measures, bit for bit.
  expected = held_out.final_means(fresh)
  assert set(expected) == set(method_names.RULE_METHODS)
  for method, value in expected.items():
    assert second[f'held_out/ridge_accuracy/{method}'] == value, method


def test_another_theta_init_is_measured_anew(rules, evaluation,
                                             monkeypatch):
  trained, init = rules
  counts = _counting_measure(monkeypatch)
  callback = held_out.TrainingCallback(evaluation)
  callback(trained, init)
  callback(trained, trained)  # θ-init with other values.
  assert counts[method_names.THETA_INIT] == 6
  assert held_out.fingerprint(trained) != held_out.fingerprint(init)
  assert held_out.fingerprint(None) is None


def test_a_rule_that_cannot_train_the_model_fails_before_compute(rules):
  evaluation = held_out.HeldOutEvaluation(widths=(8, 5))
  with pytest.raises(ValueError, match=r'HeldOutEvaluation.widths = \(8, 5\) '
                     r'ends in a top width of 5.*make the last width 4'):
    evaluation.check_fits(rules[0])


def test_a_batch_larger_than_the_held_out_split_names_the_binding(rules):
  evaluation = held_out.HeldOutEvaluation(widths=(8, 4), batch_size=1000)
  with pytest.raises(ValueError, match='HeldOutEvaluation.batch_size = 1000, '
                     'but the held-out split of digits has 599 examples'):
    evaluation.check_fits(rules[0])


def test_a_model_too_large_for_memory_is_refused_before_allocating(rules):
  # 300k × 300k floats would take the machine down before any error.
  evaluation = held_out.HeldOutEvaluation(widths=(300000, 300000, 4))
  with pytest.raises(ValueError, match='HeldOutEvaluation.widths and '
                     'batch_size: .*use narrower or fewer layers'):
    evaluation.check_fits(rules[0])


@pytest.mark.parametrize('kwargs, message', [
    (dict(seeds=()), 'seeds'), (dict(seeds=(1, 1)), 'seeds'),
    (dict(steps=-1), 'steps'), (dict(activation='relux'), 'relux'),
    (dict(widths='wide'), 'HeldOutEvaluation.widths must be a tuple'),
    (dict(widths=(8, 0)), 'HeldOutEvaluation.widths must be positive'),
    (dict(batch_size=1), 'HeldOutEvaluation.batch_size must be an int >= 2'),
    (dict(with_theta_init='no'), 'with_theta_init must be True or False')])
def test_bad_configuration_is_refused(kwargs, message):
  with pytest.raises(ValueError, match=message):
    held_out.HeldOutEvaluation(**kwargs)


def test_theta_init_can_be_left_out(rules):
  # Rules of one start share their θ-init: a comparison measures it once.
  evaluation = held_out.HeldOutEvaluation(with_theta_init=False)
  names = [method.name for method in evaluation.methods(*rules)]
  assert names == [method_names.LEARNED_RULE, method_names.RANDOM_INIT]
  assert method_names.THETA_INIT in [
      method.name for method in held_out.HeldOutEvaluation().methods(*rules)]
