"""Persistent evolution strategies: unbiased in float64 on a problem whose
smoothed gradient is known, and in the meta-trainer (selected in gin,
checkpointed with its carry, refused on other strategies)."""

import numpy as np
import pytest
import tensorflow as tf

from learned_rule import configuration
from learned_rule.tasks import distribution as task_distribution_lib
# Their configurables are bound in the meta-training configs.
from learned_rule.evaluation import held_out  # pylint: disable=unused-import
from learned_rule.update_rule import config as config_lib
from learned_rule.update_rule import rule as rule_lib
from learned_rule.training import checkpoints
from learned_rule.training import loop
from learned_rule.training import meta_trainer
from learned_rule.training import pes

# A linear system driven by θ = [a (3,), b (2,)] in float64:
# s_{t+1} = A s_t + B_a a + B_b b, meta-loss Σ_t ||s_t − c||². The loss of
# an episode is quadratic in the θ of each truncation, so its gradient is
# affine in them and the Gaussian-smoothed gradient equals the plain one at
# θ: the exact target of PES's mean.
_RNG = np.random.default_rng(7)
_A = 0.6 * np.eye(3) + 0.1 * _RNG.standard_normal((3, 3))
_B_A = _RNG.standard_normal((3, 3))
_B_B = _RNG.standard_normal((3, 2))
_TARGET = np.array([1.0, -0.5, 0.25])
_THETA = [np.array([0.3, -0.2, 0.1]), np.array([0.05, -0.4])]
_STEPS_PER_TRUNCATION = 3
_TRUNCATIONS = 4


def _unroll(theta, state):
  """(θ, s) → (s after k steps, the k losses, k dummy accuracies)."""
  losses = []
  for _ in range(_STEPS_PER_TRUNCATION):
    state = _A @ state + _B_A @ theta[0] + _B_B @ theta[1]
    losses.append(np.sum((state - _TARGET)**2))
  return state, np.array(losses), np.zeros(_STEPS_PER_TRUNCATION)


def _true_gradient():
  """d/dθ of the whole episode's loss, by backprop through every step."""
  theta = [tf.constant(t) for t in _THETA]
  with tf.GradientTape() as tape:
    tape.watch(theta)
    state, loss = tf.zeros(3, tf.float64), 0.0
    for _ in range(_STEPS_PER_TRUNCATION * _TRUNCATIONS):
      state = (tf.linalg.matvec(_A, state) + tf.linalg.matvec(_B_A, theta[0])
               + tf.linalg.matvec(_B_B, theta[1]))
      loss += tf.reduce_sum((state - _TARGET)**2)
  return np.concatenate([g.numpy() for g in tape.gradient(loss, theta)])


def _episode_estimates(trials, persistent, seed=0):
  """Per trial, the sum of the estimates over one episode's truncations.

  ``persistent=False`` is truncated ES: each truncation starts both
  branches from the task's state with ξ = 0, which forgets what θ did
  before the truncation, as truncated backprop does.
  """
  estimator = pes.PESEstimator(std=0.05)
  rng = np.random.default_rng(seed)
  estimates = []
  for _ in range(trials):
    state, carry, total = np.zeros(3), None, 0.0
    for _ in range(_TRUNCATIONS):
      if not persistent:
        carry = estimator.initial_carry(state, _THETA)
      result = estimator.task_gradient(_unroll, _THETA, state, carry, rng)
      assert result.finite
      state, carry = result.state, result.carry
      total = total + np.concatenate(result.gradients)
    estimates.append(total)
  return np.array(estimates)


def _deviation_in_standard_errors(estimates):
  mean = estimates.mean(axis=0)
  standard_error = estimates.std(axis=0, ddof=1) / np.sqrt(len(estimates))
  return np.abs(mean - _true_gradient()) / standard_error, standard_error


def test_pes_mean_matches_the_true_gradient_within_its_standard_error():
  deviations, standard_error = _deviation_in_standard_errors(
      _episode_estimates(4000, persistent=True))
  # Precise enough to tell a biased estimator apart (next test) ...
  assert np.all(standard_error < 0.1 * np.abs(_true_gradient()).max())
  # ... and within 4 standard errors on every coordinate.
  assert np.all(deviations < 4), deviations


def test_truncated_es_is_biased_on_the_same_problem():
  # The check above can fail: without its persistent accumulator the
  # estimate misses the effect of θ on the state carried in.
  deviations, _ = _deviation_in_standard_errors(
      _episode_estimates(4000, persistent=False))
  assert deviations.max() > 10, deviations


def test_antithetic_branches_carry_their_own_states_and_accumulator():
  estimator = pes.PESEstimator(std=0.1)
  rng = np.random.default_rng(1)
  first = estimator.task_gradient(_unroll, _THETA, np.zeros(3), None, rng)
  # The negative branch moved with θ − ε, the positive with θ + ε.
  assert not np.allclose(first.state, first.carry.negative_state)
  replay = np.random.default_rng(1)
  epsilon = estimator.perturbation(replay, _THETA)
  np.testing.assert_allclose(
      first.state, _unroll([t + e for t, e in zip(_THETA, epsilon)],
                           np.zeros(3))[0])
  second = estimator.task_gradient(_unroll, _THETA, first.state, first.carry,
                                   rng)
  epsilon_2 = estimator.perturbation(replay, _THETA)
  for accumulated, e1, e2 in zip(second.carry.accumulator, epsilon,
                                 epsilon_2):
    np.testing.assert_allclose(accumulated, e1 + e2)


@pytest.mark.parametrize('std', [0, -1.0, float('nan'), 'big'])
def test_a_bad_std_is_refused(std):
  with pytest.raises(ValueError, match='PESEstimator.std'):
    pes.PESEstimator(std=std)


def test_an_unknown_estimator_is_refused():
  with pytest.raises(ValueError, match="'tbptt', 'pes'|tbptt, pes"):
    pes.check_estimator('reinforce')


def _pes_trainer(std=0.01, seed=0):
  configuration.parse_gin(['meta_train/tiny.gin'], [
      "MetaTrainer.estimator = 'pes'", f'PESEstimator.std = {std}'])
  rule = rule_lib.UnsupervisedUpdate(config_lib.RuleConfig())
  return meta_trainer.MetaTrainer(
      rule, task_distribution_lib.TaskDistribution(), seed=seed)


def test_pes_trains_in_the_meta_trainer_and_resumes_with_its_carry(tmp_path):
  trainer = _pes_trainer()
  assert trainer.estimator == 'pes' and trainer.pes.std == 0.01
  before = [v.numpy() for v in trainer.rule.trainable_variables]
  outcome = trainer.train_step()
  assert np.isfinite(outcome['meta_loss'])
  assert outcome['skipped_tasks'] == 0
  changed = [not np.array_equal(v.numpy(), old) for v, old in
             zip(trainer.rule.trainable_variables, before)]
  assert all(changed)  # ES moves every coordinate of θ.
  # Tasks still in flight carry a negative branch and an accumulator.
  carried = [task for task in trainer.in_flight if task.carry is not None]
  assert carried
  manager = checkpoints.CheckpointManager(tmp_path / 'ckpt')
  trainer.save(manager)
  twin = meta_trainer.MetaTrainer(
      rule_lib.UnsupervisedUpdate(config_lib.RuleConfig()),
      task_distribution_lib.TaskDistribution(), seed=5)
  twin.restore(manager)
  for ours, theirs in zip(twin.in_flight, trainer.in_flight):
    assert (ours.carry is None) == (theirs.carry is None)
    if theirs.carry is None:
      continue
    for a, b in zip(ours.carry.accumulator, theirs.carry.accumulator):
      np.testing.assert_array_equal(a, b)
    for a, b in zip(tf.nest.flatten(ours.carry.negative_state),
                    tf.nest.flatten(theirs.carry.negative_state)):
      np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  # Both go on identically: the same perturbations, the same update.
  trainer.train_step()
  twin.train_step()
  for ours, theirs in zip(twin.rule.trainable_variables,
                          trainer.rule.trainable_variables):
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5,
                               atol=1e-7)


def test_pes_is_refused_on_a_distribution_strategy(tmp_path):
  configuration.parse_gin(['meta_train/tiny.gin'],
                          ["MetaTrainer.estimator = 'pes'"])
  with pytest.raises(ValueError, match='--strategy=local only'):
    loop.train(str(tmp_path / 'run'), num_steps=1, strategy='mirrored',
               batch_tasks=False)
