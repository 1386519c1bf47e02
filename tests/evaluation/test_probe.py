"""The few-shot probe on features whose answer is known."""

import numpy as np
import pytest

from learned_rule.data import dataset as dataset_lib
from learned_rule.data import sampling
from learned_rule.evaluation import probe


def _draw(rng, num_classes, shots, dim, separation, shuffle_labels=False):
  centres = rng.normal(size=(num_classes, dim)) * separation
  labels = np.repeat(np.arange(num_classes), 2 * shots)
  features = centres[labels] + rng.normal(size=(len(labels), dim))
  if shuffle_labels:
    labels = rng.permutation(labels)
  order = rng.permutation(len(labels))
  half = len(order) // 2
  support, query = order[:half], order[half:]
  return features[support], labels[support], features[query], labels[query]


def test_linearly_separable_features_score_near_perfect():
  rng = np.random.default_rng(0)
  support, support_y, query, query_y = _draw(rng, 5, 10, 16, separation=10)
  scores = probe.score(support, support_y, query, query_y, 5)
  assert scores['ridge_accuracy'] > 0.97
  assert scores['logistic_accuracy'] > 0.97
  assert np.isfinite(scores['meta_objective'])


def test_label_shuffled_features_score_near_chance():
  rng = np.random.default_rng(1)
  accuracies = []
  for _ in range(20):
    support, support_y, query, query_y = _draw(rng, 5, 10, 16, 10,
                                               shuffle_labels=True)
    scores = probe.score(support, support_y, query, query_y, 5)
    accuracies.append((scores['ridge_accuracy'], scores['logistic_accuracy']))
  ridge, logistic = np.mean(accuracies, axis=0)
  assert abs(ridge - 0.2) < 0.08
  assert abs(logistic - 0.2) < 0.08


def test_non_finite_features_are_not_scored():
  rng = np.random.default_rng(2)
  support, support_y, query, query_y = _draw(rng, 4, 5, 8, 10)
  support[0, 0] = np.nan
  scores = probe.score(support, support_y, query, query_y, 4)
  assert all(np.isnan(value) for value in scores.values())


def test_mismatched_feature_sizes_are_rejected():
  with pytest.raises(ValueError, match='same F'):
    probe.score(np.zeros((4, 3)), [0, 1, 0, 1], np.zeros((4, 2)),
                [0, 1, 0, 1], 2)


def test_score_draws_averages_and_checks_counts():
  rng = np.random.default_rng(3)
  centres = rng.normal(size=(3, 6)) * 10
  labels = np.repeat(np.arange(3), 30)
  data = dataset_lib.Dataset(
      'blobs', (centres[labels] + rng.normal(size=(90, 6))).astype(
          np.float32), labels.astype(np.int64), (6,), 3, 'toy', 'test')
  draws = [sampling.few_shot_batch(data, rng, 5) for _ in range(3)]
  features = [(d.support_x, d.query_x) for d in draws]
  scores = probe.score_draws(features, draws, 3)
  singles = [probe.score(s, d.support_y, q, d.query_y, 3)['ridge_accuracy']
             for (s, q), d in zip(features, draws)]
  assert scores['ridge_accuracy'] == pytest.approx(np.mean(singles))
  with pytest.raises(ValueError, match='2 feature pairs for 3 draws'):
    probe.score_draws(features[:2], draws, 3)
