"""VAE baseline: its objective improves, runs are a function of the seed."""

import gin
import numpy as np
import pytest

from learned_rule.model import base_model
from learned_rule.data import digits
from learned_rule.evaluation import protocol
from learned_rule.evaluation.baselines import vae

WIDTHS = (32, 16)


def _setting(steps, seed=0):
  return protocol.Setting(digits.load_split('test'), WIDTHS, 'relu',
                          batch_size=16, seed=seed, steps=steps, num_draws=2)


def _trajectory(steps, seed=0):
  method = vae.VariationalAutoencoder()
  return method, list(method.trajectory(_setting(steps, seed)))


def test_negative_elbo_decreases_over_a_stream():
  setting = _setting((200,))
  method = vae.VariationalAutoencoder()
  state = method.start(setting)
  for _, batches, _ in setting.chunks():
    state = method.train(state, batches)
  losses = np.asarray(state.losses)
  assert losses.shape == (200,)
  assert np.all(np.isfinite(losses))
  assert losses[-20:].mean() < losses[:20].mean() - 1.0


def test_training_on_no_batches_changes_nothing():
  setting = _setting((1,))
  method = vae.VariationalAutoencoder()
  state = method.start(setting)
  inputs = setting.data.features[:50]
  before = method.features(state, inputs)
  state = method.train(state, np.zeros((0, 16, setting.data.input_dim)))
  assert state.losses == []
  np.testing.assert_array_equal(method.features(state, inputs), before)


def test_trajectory_yields_the_requested_steps_and_latent_means():
  method, trajectory = _trajectory((3, 10))
  assert [step for step, _ in trajectory] == [3, 10]
  for _, features in trajectory:
    assert len(features) == 2
    for support, query in features:
      assert support.shape == (100, WIDTHS[-1])
      assert query.shape == (100, WIDTHS[-1])
  history = method.filter_history()
  assert [step for step, _ in history] == [3, 10]
  assert history[0][1].shape == (64, WIDTHS[0])
  assert not np.array_equal(history[0][1], history[1][1])


def test_runs_are_determined_by_the_seed():
  _, first = _trajectory((5, 15), seed=4)
  _, again = _trajectory((5, 15), seed=4)
  _, other = _trajectory((5, 15), seed=5)
  for (_, a), (_, b), (_, c) in zip(first, again, other):
    for (a_support, a_query), (b_support, b_query), (c_support, _) in zip(
        a, b, c):
      np.testing.assert_array_equal(a_support, b_support)
      np.testing.assert_array_equal(a_query, b_query)
      assert not np.allclose(a_support, c_support)


def test_encoder_starts_as_the_base_model():
  setting = _setting((1,), seed=2)
  state = vae.VariationalAutoencoder().start(setting)
  model = base_model.BaseMLP(setting.data.input_dim, WIDTHS, 'relu', seed=2)
  np.testing.assert_array_equal(
      vae.VariationalAutoencoder().first_layer(state),
      model.dense_layers[0].kernel.numpy())


def test_learning_rate_is_gin_configurable_and_checked():
  gin.bind_parameter('VariationalAutoencoder.learning_rate', 0.01)
  assert vae.VariationalAutoencoder().learning_rate == 0.01
  with pytest.raises(ValueError, match='learning_rate'):
    vae.VariationalAutoencoder(learning_rate=-1.0)
