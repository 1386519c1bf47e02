"""Oja's rule: convergence to principal components, and the Oja baseline."""

import gin
import numpy as np
import pytest

from learned_rule.data import digits
from learned_rule.evaluation import protocol
from learned_rule.evaluation.baselines import hebbian


def _covariance(eigenvalues, seed):
  """A covariance with the given spectrum and random eigenvectors."""
  dim = len(eigenvalues)
  rng = np.random.default_rng(seed)
  basis, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
  return basis @ np.diag(eigenvalues) @ basis.T, basis


def _train(weights, covariance, steps, learning_rate, batch_size=64, seed=0):
  """Runs ``oja_update`` on zero-mean Gaussian batches of ``covariance``."""
  rng = np.random.default_rng(seed)
  factor = np.linalg.cholesky(covariance)
  for _ in range(steps):
    batch = rng.standard_normal((batch_size, len(covariance))) @ factor.T
    weights = hebbian.oja_update(weights, batch, learning_rate)
  return weights


@pytest.mark.parametrize('eigenvalues', [(2.0, 0.5),
                                         (3.0, 1.0, 0.6, 0.3, 0.1)])
def test_one_neuron_converges_to_the_leading_component(eigenvalues):
  covariance, basis = _covariance(eigenvalues, seed=1)
  start = np.random.default_rng(2).normal(0, 0.01, (len(eigenvalues), 1))
  start_cosine = abs(basis[:, 0] @ start[:, 0]) / np.linalg.norm(start)
  weights = _train(start, covariance, steps=2000, learning_rate=0.01)
  norm = np.linalg.norm(weights)
  cosine = abs(basis[:, 0] @ weights[:, 0]) / norm
  assert start_cosine < 0.9
  assert cosine > 0.99
  assert abs(norm - 1.0) < 0.05


def test_subspace_rule_converges_to_the_top_eigenvectors():
  eigenvalues = (4.0, 3.0, 2.0, 0.5, 0.3, 0.2, 0.1, 0.05)
  covariance, basis = _covariance(eigenvalues, seed=3)
  top = basis[:, :3]
  start = np.random.default_rng(4).normal(0, 0.01, (8, 3))

  def smallest_cosine(weights):
    """Cosine of the largest principal angle between span(W) and ``top``."""
    orthonormal, _ = np.linalg.qr(weights)
    return np.linalg.svd(top.T @ orthonormal, compute_uv=False).min()

  weights = _train(start, covariance, steps=3000, learning_rate=0.01)
  assert smallest_cosine(start) < 0.9
  assert smallest_cosine(weights) > 0.99
  # The columns become an orthonormal basis of that span.
  np.testing.assert_allclose(weights.T @ weights, np.eye(3), atol=0.02)


def test_oja_update_matches_its_formula_and_rejects_bad_input():
  rng = np.random.default_rng(5)
  weights, inputs = rng.standard_normal((4, 2)), rng.standard_normal((6, 4))
  expected = weights.copy()
  for x in inputs:
    y = x @ weights
    expected += 0.1 * (np.outer(x, y) - weights @ np.outer(y, y)) / 6
  np.testing.assert_allclose(hebbian.oja_update(weights, inputs, 0.1),
                             expected, rtol=1e-12)
  with pytest.raises(ValueError, match='rows'):
    hebbian.oja_update(weights, inputs[:, :3], 0.1)
  with pytest.raises(ValueError, match='learning_rate'):
    hebbian.oja_update(weights, inputs, 0.0)
  with pytest.raises(ValueError, match='learning_rate'):
    hebbian.OjaRule(learning_rate=-1.0)


def _digits_setting(steps):
  return protocol.Setting(digits.load_split('test'), widths=(16, 8),
                          activation='relu', batch_size=32, seed=0,
                          steps=steps, num_draws=2)


def test_method_trains_on_digits_and_yields_features_of_the_top_width():
  setting = _digits_setting(steps=(0, 3, 10))
  method = hebbian.OjaRule(learning_rate=0.05)
  results = list(method.trajectory(setting))
  assert [step for step, _ in results] == [0, 3, 10]
  for _, pairs in results:
    assert len(pairs) == setting.num_draws
    for support, query in pairs:
      assert support.shape == query.shape == (10 * setting.shots, 8)
      assert np.all(np.isfinite(support)) and np.all(np.isfinite(query))
  history = method.filter_history()
  assert [step for step, _ in history] == [0, 3, 10]
  assert all(weights.shape == (64, 16) for _, weights in history)
  np.testing.assert_array_equal(history[0][1], method.start(setting)[0][0])
  # Training moved the first layer between the probed steps.
  assert not np.allclose(history[0][1], history[1][1])
  assert not np.allclose(history[1][1], history[2][1])


def test_start_is_seeded_and_untrained_features_follow_the_base_model():
  setting = _digits_setting(steps=(1,))
  method = hebbian.OjaRule()
  weights, _ = method.start(setting)
  again, _ = method.start(setting)
  assert [w.shape for w in weights] == [(64, 16), (16, 8)]
  for first, second in zip(weights, again):
    np.testing.assert_array_equal(first, second)
  assert all(np.abs(w).max() <= 0.02 for w in weights)  # 2 × std 0.01.
  assert 0.005 < np.std(weights[0]) < 0.01

  inputs = setting.data.features[:50].astype(np.float64)
  features = method.features(method.start(setting), inputs)
  linear = inputs @ weights[0]
  hidden = np.maximum((linear - linear.mean(0)) / np.sqrt(
      linear.var(0) + 1e-6), 0)
  linear = hidden @ weights[1]
  expected = np.maximum((linear - linear.mean(0)) / np.sqrt(
      linear.var(0) + 1e-6), 0)
  np.testing.assert_allclose(features, expected, rtol=1e-6, atol=1e-9)
  # Step 0 (no batches) leaves the state as it is.
  state = method.start(setting)
  unchanged, _ = method.train(state, np.zeros((0, 32, 64)))
  for kernel, initial in zip(unchanged, state[0]):
    np.testing.assert_array_equal(kernel, initial)


def test_learning_rate_is_gin_configurable():
  gin.bind_parameter('OjaRule.learning_rate', 0.25)
  assert hebbian.OjaRule().learning_rate == 0.25
