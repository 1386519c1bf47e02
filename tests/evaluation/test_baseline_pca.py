"""PCA baseline: the fitted subspace, exact accumulation, padding, digits."""

import numpy as np

from learned_rule.data import dataset
from learned_rule.data import digits
from learned_rule.evaluation import probe
from learned_rule.evaluation import protocol
from learned_rule.evaluation.baselines import pca


def _low_rank_data(dim=12, rank=3, count=600, noise=0.05, seed=0):
  """Examples near a known ``rank``-dim subspace; returns (data, basis)."""
  rng = np.random.default_rng(seed)
  basis, _ = np.linalg.qr(rng.standard_normal((dim, rank)))
  latent = rng.standard_normal((count, rank)) * np.array([3.0, 2.0, 1.5])
  features = 0.5 + latent @ basis.T + noise * rng.standard_normal(
      (count, dim))
  labels = rng.integers(0, 2, count)
  data = dataset.Dataset('low_rank', features.astype(np.float32), labels,
                         (dim,), num_classes=2, modality='toy')
  return data, basis


def _smallest_cosine(basis, components):
  """Cosine of the largest principal angle between the two spans."""
  return np.linalg.svd(basis.T @ components, compute_uv=False).min()


def test_top_components_are_sorted_signed_and_padded():
  scatter = np.diag([1.0, 3.0, 2.0, 0.0])
  components = pca.top_components(scatter, 5)
  expected = np.zeros((4, 5))
  expected[1, 0] = expected[2, 1] = expected[0, 2] = 1.0
  np.testing.assert_allclose(components, expected, atol=1e-12)
  # The sign does not follow the sign the eigensolver happens to return.
  flipped = pca.top_components(np.diag([-1.0, 1.0, 1.0, 1.0]) @ scatter @
                               np.diag([-1.0, 1.0, 1.0, 1.0]), 2)
  np.testing.assert_allclose(flipped, expected[:, :2], atol=1e-12)


def test_features_recover_the_top_subspace_of_low_rank_data():
  data, basis = _low_rank_data()
  setting = protocol.Setting(data, widths=(3,), activation='relu',
                             batch_size=40, seed=1, steps=(0, 2, 6),
                             num_draws=1)
  method = pca.PCAFeatures()
  results = list(method.trajectory(setting))
  assert [step for step, _ in results] == [0, 2, 6]
  # Step 0 fits the fixed sample, later steps the delivered examples.
  for _, components in method.filter_history():
    assert components.shape == (12, 3)
    assert _smallest_cosine(basis, components) > 0.99
    np.testing.assert_allclose(components.T @ components, np.eye(3),
                               atol=1e-9)
  # A random 3-dim subspace is far from it: the check can fail.
  random_span, _ = np.linalg.qr(
      np.random.default_rng(2).standard_normal((12, 3)))
  assert _smallest_cosine(basis, random_span) < 0.9


def test_fit_uses_exactly_every_delivered_example():
  data, _ = _low_rank_data(seed=3)
  setting = protocol.Setting(data, widths=(4,), activation='relu',
                             batch_size=30, seed=4, steps=(0, 1, 3, 7),
                             num_draws=2)
  method = pca.PCAFeatures()
  results = list(method.trajectory(setting))
  history = method.filter_history()
  delivered = []
  for (step, batches, _), (_, pairs), (_, components) in zip(
      setting.chunks(), results, history):
    if step == 0:
      np.testing.assert_array_equal(components,
                                    method.start(setting).components)
      continue
    delivered.append(batches.reshape(-1, data.input_dim))
    examples = np.concatenate(delivered).astype(np.float64)
    assert len(examples) == step * setting.batch_size
    mean = examples.mean(axis=0)
    _, eigenvectors = np.linalg.eigh(np.cov(examples.T))
    top = eigenvectors[:, ::-1][:, :4]
    # Same components up to sign.
    np.testing.assert_allclose(np.abs(top.T @ components), np.eye(4),
                               atol=1e-6)
    for (support, query), draw in zip(pairs, setting.draws()):
      np.testing.assert_allclose(support, (draw.support_x - mean) @
                                 components, rtol=1e-9, atol=1e-9)
      np.testing.assert_allclose(query, (draw.query_x - mean) @ components,
                                 rtol=1e-9, atol=1e-9)


def test_step_zero_fits_a_fixed_seeded_sample():
  data, _ = _low_rank_data(seed=5)
  setting = protocol.Setting(data, widths=(2,), activation='relu',
                             batch_size=25, seed=6, steps=(1,))
  state = pca.PCAFeatures().start(setting)
  chosen = np.random.default_rng([6, pca.SAMPLE_KEY]).choice(
      len(data), 25, replace=False)
  np.testing.assert_allclose(state.fit_mean,
                             data.features[chosen].mean(axis=0), rtol=1e-6)
  assert state.count == 0
  again = pca.PCAFeatures().start(setting)
  np.testing.assert_array_equal(state.components, again.components)
  # Step 0 (no batches) keeps the state.
  assert pca.PCAFeatures().train(state, np.zeros((0, 25, 12))) is state


def test_feature_size_beyond_the_rank_is_padded_with_zeros():
  data, _ = _low_rank_data(dim=5, seed=7)
  setting = protocol.Setting(data, widths=(8,), activation='relu',
                             batch_size=20, seed=8, steps=(0, 2),
                             num_draws=1)
  method = pca.PCAFeatures()
  for _, [(support, query)] in method.trajectory(setting):
    assert support.shape == query.shape == (20, 8)
    assert np.all(support[:, 5:] == 0) and np.all(query[:, 5:] == 0)
    assert np.all(np.std(support[:, :5], axis=0) > 0)
  # Fewer examples than dimensions: 4 examples span 3 centred directions.
  small = protocol.Setting(data, widths=(5,), activation='relu',
                           batch_size=4, seed=8, steps=(1,))
  components = method.start(small).components
  assert (np.linalg.norm(components, axis=0) > 0.5).tolist() == [
      True, True, True, False, False]


def test_digits_features_have_the_top_width_and_probe_well():
  setting = protocol.Setting(digits.load_split('test'), widths=(32, 16),
                             activation='relu', batch_size=64, seed=0,
                             steps=(0, 20), num_draws=3)
  draws = setting.draws()
  for step, pairs in pca.PCAFeatures().trajectory(setting):
    for support, query in pairs:
      assert support.shape == query.shape == (10 * setting.shots, 16)
    scores = probe.score_draws(pairs, draws, num_classes=10)
    assert scores['ridge_accuracy'] > 0.6, (step, scores)
    assert scores['logistic_accuracy'] > 0.6, (step, scores)
