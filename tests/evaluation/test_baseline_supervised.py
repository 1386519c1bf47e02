"""Supervised baseline: learns the support labels, one model per draw."""

import gin
import numpy as np
import pytest

from learned_rule.model import base_model
from learned_rule.data import digits
from learned_rule.evaluation import probe
from learned_rule.evaluation import protocol
from learned_rule.evaluation.baselines import supervised

WIDTHS = (32, 16)


def _setting(steps, num_draws=2, seed=0):
  return protocol.Setting(digits.load_split('test'), WIDTHS, 'relu',
                          batch_size=16, seed=seed, steps=steps,
                          num_draws=num_draws)


@pytest.fixture(scope='module')
def trained():
  """A 150-step trajectory, its method and its setting."""
  setting = _setting((0, 150))
  method = supervised.SupervisedBackprop()
  return setting, method, list(method.trajectory(setting))


def test_trajectory_yields_the_requested_steps_and_top_features(trained):
  setting, _, trajectory = trained
  assert [step for step, _ in trajectory] == [0, 150]
  shots = setting.shots * setting.data.num_classes
  for _, features in trajectory:
    assert len(features) == setting.num_draws
    for support, query in features:
      assert support.shape == (shots, WIDTHS[-1])
      assert query.shape == (shots, WIDTHS[-1])


def test_training_lowers_the_support_loss_and_probes_well(trained):
  setting, method, trajectory = trained
  losses = method.loss_history
  assert losses.shape == (150, setting.num_draws)
  assert np.all(np.isfinite(losses))
  # Cross-entropy starts near log(10) and falls well below it.
  assert np.all(losses[0] > 1.5)
  assert np.all(losses[-1] < 0.5 * losses[0])
  scores = probe.score_draws(trajectory[-1][1], setting.draws(),
                             setting.data.num_classes)
  assert scores['ridge_accuracy'] > 0.5
  assert scores['logistic_accuracy'] > 0.5


def test_untrained_features_are_those_of_the_base_model(trained):
  setting, _, trajectory = trained
  model = base_model.BaseMLP(setting.data.input_dim, WIDTHS, 'relu',
                             seed=setting.seed)
  for draw, (support, query) in zip(setting.draws(), trajectory[0][1]):
    inputs = np.concatenate([draw.support_x, draw.query_x])
    expected = model(inputs)[1][-1].numpy()
    np.testing.assert_allclose(np.concatenate([support, query]), expected,
                               rtol=1e-4, atol=1e-5)


def test_draws_train_independently():
  # The first draw is the same with one or two draws; training it beside
  # another must not change it.
  alone = list(supervised.SupervisedBackprop().trajectory(
      _setting((0, 20), num_draws=1)))
  paired = list(supervised.SupervisedBackprop().trajectory(
      _setting((0, 20), num_draws=2)))
  np.testing.assert_allclose(alone[-1][1][0][0], paired[-1][1][0][0],
                             rtol=1e-4, atol=1e-5)
  assert not np.allclose(alone[-1][1][0][0], alone[0][1][0][0], atol=1e-3)


def test_learning_rate_is_gin_configurable_and_checked():
  gin.bind_parameter('SupervisedBackprop.learning_rate', 0.01)
  assert supervised.SupervisedBackprop().learning_rate == 0.01
  with pytest.raises(ValueError, match='learning_rate'):
    supervised.SupervisedBackprop(learning_rate=0.0)
