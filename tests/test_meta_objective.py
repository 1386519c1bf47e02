"""Tests of the few-shot meta-objective (learned_rule.meta_objective).

The loss is checked against an independent float64 NumPy implementation of
paper_spec.md §5.2 steps 3–6: one-hot targets centred by their scalar mean
and scaled to unit row norm, a closed-form ridge fit with an unpenalised
bias, L2-normalised query predictions, and the loss
Σ_rows ||ŷ − y||² / K + λ ||w[:-1]||² / K.
"""

import numpy as np
import pytest
import tensorflow as tf

from learned_rule.model import base_model
from learned_rule import meta_objective
from learned_rule.data import few_shot

NUM_CLASSES = 3
NUM_FEATURES = 5
PER_CLASS = 4


# -- Independent NumPy reference of spec §5.2. ---------------------------------


def numpy_targets(labels, num_classes, extra=None):
  """Step 3: one-hot (+ extra columns), minus the scalar mean, unit rows."""
  targets = np.eye(num_classes)[np.asarray(labels)]
  if extra is not None:
    targets = np.concatenate([targets, np.asarray(extra, np.float64)], axis=1)
  targets = targets - targets.mean()
  mean_square_norm = np.mean(np.sum(targets ** 2, axis=1))
  return targets / np.sqrt(mean_square_norm)


def numpy_ridge(features, targets, ridge):
  """Step 4: (AᵀA + diag(λ, …, λ, 0))⁻¹ Aᵀy with A = [features, 1]."""
  features = np.asarray(features, np.float64)
  design = np.concatenate([features, np.ones((features.shape[0], 1))], axis=1)
  penalty = np.diag([ridge] * features.shape[1] + [0.0])
  return np.linalg.solve(design.T @ design + penalty,
                         design.T @ np.asarray(targets, np.float64))


def numpy_loss(support_features, support_labels, query_features, query_labels,
               num_classes, ridge=0.1, support_extra=None, query_extra=None):
  """Steps 3–6; returns (loss, query_mse, ridge_penalty, accuracy)."""
  support_targets = numpy_targets(support_labels, num_classes, support_extra)
  query_targets = numpy_targets(query_labels, num_classes, query_extra)
  weights = numpy_ridge(support_features, support_targets, ridge)
  predictions = np.asarray(query_features, np.float64) @ weights[:-1]
  predictions = predictions + weights[-1]
  predictions = predictions / np.linalg.norm(predictions, axis=1,
                                             keepdims=True)
  count = len(support_labels)
  query_mse = np.sum((predictions - query_targets) ** 2) / count
  ridge_penalty = ridge * np.sum(weights[:-1] ** 2) / count
  accuracy = np.mean(
      np.argmax(predictions[:, :num_classes], axis=1) == query_labels)
  return query_mse + ridge_penalty, query_mse, ridge_penalty, accuracy


def _labels(per_class=PER_CLASS, num_classes=NUM_CLASSES, seed=0):
  labels = np.repeat(np.arange(num_classes), per_class)
  return np.random.RandomState(seed).permutation(labels)


def _features(count, width=NUM_FEATURES, seed=0, dtype=np.float64):
  return np.random.RandomState(seed).randn(count, width).astype(dtype)


# -- solve_ridge. --------------------------------------------------------------


@pytest.mark.parametrize('solver', meta_objective.SOLVERS)
@pytest.mark.parametrize('ridge', [0.1, 2.5])
def test_solve_ridge_matches_numpy_closed_form(solver, ridge):
  features = _features(12, seed=1)
  targets = _features(12, width=3, seed=2)
  got = meta_objective.solve_ridge(tf.constant(features), tf.constant(targets),
                                   ridge=ridge, solver=solver).numpy()
  want = numpy_ridge(features, targets, ridge)
  assert got.shape == (NUM_FEATURES + 1, 3)
  np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_solve_ridge_keeps_ridge_in_full_precision_in_float64():
  features = _features(12, seed=1)
  targets = _features(12, width=3, seed=2)
  got = meta_objective.solve_ridge(tf.constant(features), tf.constant(targets),
                                   ridge=0.1).numpy()
  np.testing.assert_allclose(got, numpy_ridge(features, targets, 0.1),
                             rtol=1e-12, atol=1e-14)


def test_solve_ridge_solvers_agree_in_float32():
  features = tf.constant(_features(20, seed=3, dtype=np.float32))
  targets = tf.constant(_features(20, width=4, seed=4, dtype=np.float32))
  cholesky = meta_objective.solve_ridge(features, targets, solver='cholesky')
  solve = meta_objective.solve_ridge(features, targets, solver='solve')
  assert cholesky.dtype == tf.float32
  np.testing.assert_allclose(cholesky.numpy(), solve.numpy(), rtol=1e-4,
                             atol=1e-5)


def test_solve_ridge_does_not_penalise_the_bias():
  # With an unpenalised bias, adding a constant c to every target is fitted
  # exactly by the bias: only the last row changes, by c.
  features = tf.constant(_features(10, seed=5))
  targets = _features(10, width=2, seed=6)
  shift = 3.75
  base = meta_objective.solve_ridge(features, tf.constant(targets)).numpy()
  shifted = meta_objective.solve_ridge(features,
                                       tf.constant(targets + shift)).numpy()
  np.testing.assert_allclose(shifted[:-1], base[:-1], atol=1e-12)
  np.testing.assert_allclose(shifted[-1], base[-1] + shift, rtol=1e-12)


def test_solve_ridge_huge_penalty_keeps_the_bias_at_the_target_mean():
  features = tf.constant(_features(10, seed=7))
  targets = _features(10, width=2, seed=8) + 5.0
  weights = meta_objective.solve_ridge(features, tf.constant(targets),
                                       ridge=1e9).numpy()
  np.testing.assert_allclose(weights[:-1], 0.0, atol=1e-6)
  np.testing.assert_allclose(weights[-1], targets.mean(axis=0), rtol=1e-6)


def test_solve_ridge_rejects_unknown_solver():
  features = tf.constant(_features(4))
  with pytest.raises(ValueError, match='solver'):
    meta_objective.solve_ridge(features, features, solver='inverse')


# -- center_targets. -----------------------------------------------------------


def test_center_targets_removes_scalar_mean_and_normalises_one_hot_rows():
  labels = _labels()
  one_hot = np.eye(NUM_CLASSES)[labels]
  centred = meta_objective.center_targets(tf.constant(one_hot)).numpy()
  # A scalar mean, not a per-column one: the column sums stay proportional
  # to the class counts (all equal here) and the total is zero.
  assert abs(centred.sum()) < 1e-12
  np.testing.assert_allclose(np.linalg.norm(centred, axis=1), 1.0,
                             rtol=1e-12)
  # Per row: the hot entry is the largest, the others are all equal.
  hot = centred[np.arange(len(labels)), labels]
  np.testing.assert_allclose(hot, hot[0])
  cold = centred[np.eye(NUM_CLASSES, dtype=bool)[labels] == 0]
  np.testing.assert_allclose(cold, cold[0])
  assert hot[0] > 0 > cold[0]


def test_center_targets_uses_a_scalar_mean_not_a_column_mean():
  # Unbalanced classes: a per-column mean would differ per column.
  labels = np.array([0, 0, 0, 1])
  one_hot = np.eye(2)[labels]
  centred = meta_objective.center_targets(tf.constant(one_hot)).numpy()
  np.testing.assert_allclose(centred, numpy_targets(labels, 2), rtol=1e-12)
  scale = np.sqrt(np.mean(np.sum((one_hot - 0.5) ** 2, axis=1)))
  np.testing.assert_allclose(centred, (one_hot - 0.5) / scale, rtol=1e-12)


# -- MetaObjective.from_features. ---------------------------------------------


@pytest.mark.parametrize('ridge', [0.1, 1.0])
def test_from_features_matches_numpy_reference(ridge):
  support_labels, query_labels = _labels(seed=1), _labels(seed=2)
  count = len(support_labels)
  support = _features(count, seed=3)
  query = _features(count, seed=4)
  loss, metrics = meta_objective.MetaObjective(ridge=ridge).from_features(
      tf.constant(support), support_labels, tf.constant(query), query_labels,
      NUM_CLASSES)
  want_loss, want_mse, want_penalty, want_accuracy = numpy_loss(
      support, support_labels, query, query_labels, NUM_CLASSES, ridge)
  assert loss.dtype == tf.float64
  assert want_penalty > 1e-3  # The penalty term matters in this check.
  np.testing.assert_allclose(loss.numpy(), want_loss, rtol=1e-10)
  np.testing.assert_allclose(metrics['query_mse'].numpy(), want_mse,
                             rtol=1e-10)
  np.testing.assert_allclose(metrics['ridge_penalty'].numpy(), want_penalty,
                             rtol=1e-10)
  np.testing.assert_allclose(metrics['accuracy'].numpy(), want_accuracy)


def test_both_terms_are_divided_by_the_support_size():
  support_labels = _labels(per_class=6, seed=20)
  query_labels = _labels(per_class=3, seed=21)
  support = _features(len(support_labels), seed=22)
  query = _features(len(query_labels), seed=23)
  loss, metrics = meta_objective.MetaObjective().from_features(
      tf.constant(support), support_labels, tf.constant(query), query_labels,
      NUM_CLASSES)
  want_loss, want_mse, want_penalty, _ = numpy_loss(
      support, support_labels, query, query_labels, NUM_CLASSES)
  np.testing.assert_allclose(metrics['query_mse'].numpy(), want_mse,
                             rtol=1e-10)
  np.testing.assert_allclose(metrics['ridge_penalty'].numpy(), want_penalty,
                             rtol=1e-10)
  np.testing.assert_allclose(loss.numpy(), want_loss, rtol=1e-10)


def test_from_features_data_term_is_twice_the_mean_cosine_distance():
  support_labels, query_labels = _labels(seed=5), _labels(seed=6)
  support = _features(len(support_labels), seed=7)
  query = _features(len(query_labels), seed=8)
  objective = meta_objective.MetaObjective()
  _, metrics = objective.from_features(
      tf.constant(support), support_labels, tf.constant(query), query_labels,
      NUM_CLASSES)
  weights = numpy_ridge(support, numpy_targets(support_labels, NUM_CLASSES),
                        objective.ridge)
  predictions = query @ weights[:-1] + weights[-1]
  targets = numpy_targets(query_labels, NUM_CLASSES)
  cosine = np.sum(predictions * targets, axis=1) / (
      np.linalg.norm(predictions, axis=1) * np.linalg.norm(targets, axis=1))
  np.testing.assert_allclose(metrics['query_mse'].numpy(),
                             2.0 * np.mean(1.0 - cosine), rtol=1e-7)


def test_from_features_appends_extra_regression_targets():
  support_labels, query_labels = _labels(seed=9), _labels(seed=10)
  count = len(support_labels)
  support, query = _features(count, seed=11), _features(count, seed=12)
  support_extra = _features(count, width=2, seed=13)
  query_extra = _features(count, width=2, seed=14)
  objective = meta_objective.MetaObjective()
  targets = objective.targets(support_labels, NUM_CLASSES, support_extra,
                              tf.float64).numpy()
  assert targets.shape == (count, NUM_CLASSES + 2)
  np.testing.assert_allclose(
      targets, numpy_targets(support_labels, NUM_CLASSES, support_extra),
      rtol=1e-12)
  loss, metrics = objective.from_features(
      tf.constant(support), support_labels, tf.constant(query), query_labels,
      NUM_CLASSES, support_extra=tf.constant(support_extra),
      query_extra=tf.constant(query_extra))
  want_loss, _, _, want_accuracy = numpy_loss(
      support, support_labels, query, query_labels, NUM_CLASSES,
      support_extra=support_extra, query_extra=query_extra)
  np.testing.assert_allclose(loss.numpy(), want_loss, rtol=1e-7)
  # The accuracy reads only the class columns.
  np.testing.assert_allclose(metrics['accuracy'].numpy(), want_accuracy)
  plain_loss, _ = objective.from_features(
      tf.constant(support), support_labels, tf.constant(query), query_labels,
      NUM_CLASSES)
  assert abs(plain_loss.numpy() - loss.numpy()) > 1e-3


def test_accuracy_metric_is_argmax_of_class_columns():
  # Features are noisy one-hot codes: some, not all, queries are right.
  rng = np.random.RandomState(15)
  support_labels, query_labels = _labels(seed=16), _labels(seed=17)
  support = np.eye(NUM_CLASSES)[support_labels] + 0.3 * rng.randn(
      len(support_labels), NUM_CLASSES)
  query = np.eye(NUM_CLASSES)[query_labels] + 1.2 * rng.randn(
      len(query_labels), NUM_CLASSES)
  _, metrics = meta_objective.MetaObjective().from_features(
      tf.constant(support), support_labels, tf.constant(query), query_labels,
      NUM_CLASSES)
  weights = numpy_ridge(support, numpy_targets(support_labels, NUM_CLASSES),
                        0.1)
  predicted = np.argmax(query @ weights[:-1] + weights[-1], axis=1)
  want = np.mean(predicted == query_labels)
  assert 0.0 < want < 1.0
  assert metrics['accuracy'].numpy() == pytest.approx(want)


def test_separable_features_give_perfect_accuracy_and_low_loss():
  rng = np.random.RandomState(18)
  support_labels, query_labels = _labels(seed=19), _labels(seed=20)
  centres = 5.0 * rng.randn(NUM_CLASSES, NUM_FEATURES)
  support = centres[support_labels] + 0.05 * rng.randn(len(support_labels),
                                                        NUM_FEATURES)
  query = centres[query_labels] + 0.05 * rng.randn(len(query_labels),
                                                    NUM_FEATURES)
  loss, metrics = meta_objective.MetaObjective().from_features(
      tf.constant(support, tf.float32), support_labels,
      tf.constant(query, tf.float32), query_labels, NUM_CLASSES)
  assert metrics['accuracy'].numpy() == 1.0
  random_loss, _ = meta_objective.MetaObjective().from_features(
      tf.constant(rng.randn(*support.shape), tf.float32), support_labels,
      tf.constant(rng.randn(*query.shape), tf.float32), query_labels,
      NUM_CLASSES)
  assert loss.numpy() < 0.05
  assert random_loss.numpy() > 10 * loss.numpy()


def test_gradient_with_respect_to_features_is_finite_and_nonzero():
  support_labels, query_labels = _labels(seed=21), _labels(seed=22)
  support = tf.constant(_features(len(support_labels), seed=23,
                                  dtype=np.float32))
  query = tf.constant(_features(len(query_labels), seed=24, dtype=np.float32))
  with tf.GradientTape() as tape:
    tape.watch([support, query])
    loss, _ = meta_objective.MetaObjective().from_features(
        support, support_labels, query, query_labels, NUM_CLASSES)
  support_gradient, query_gradient = tape.gradient(loss, [support, query])
  for gradient in (support_gradient, query_gradient):
    assert np.all(np.isfinite(gradient.numpy()))
    assert np.max(np.abs(gradient.numpy())) > 0


def test_gradient_is_finite_for_all_zero_features():
  # Collapsed features and balanced classes: every prediction is the target
  # mean, which centring made zero. The row norm must not divide by zero.
  support_labels, query_labels = _labels(seed=25), _labels(seed=26)
  support = tf.zeros([len(support_labels), NUM_FEATURES])
  query = tf.zeros([len(query_labels), NUM_FEATURES])
  with tf.GradientTape() as tape:
    tape.watch([support, query])
    loss, _ = meta_objective.MetaObjective().from_features(
        support, support_labels, query, query_labels, NUM_CLASSES)
  gradients = tape.gradient(loss, [support, query])
  assert np.isfinite(loss.numpy())
  for gradient in gradients:
    assert np.all(np.isfinite(gradient.numpy()))


@pytest.mark.parametrize('kwargs, word', [
    ({'solver': 'qr'}, 'solver'),
    ({'ridge': -0.1}, 'ridge'),
    ({'ridge': 0.0}, 'ridge'),
])
def test_meta_objective_rejects_bad_arguments(kwargs, word):
  with pytest.raises(ValueError, match=word):
    meta_objective.MetaObjective(**kwargs)


# -- MetaObjective.__call__. ---------------------------------------------------


class _RecordingObjective(meta_objective.MetaObjective):
  """Records the features that reach from_features."""

  def from_features(self, support_features, support_labels, query_features,
                    query_labels, num_classes, support_extra=None,
                    query_extra=None):
    self.seen = (support_features, query_features)
    return super().from_features(support_features, support_labels,
                                 query_features, query_labels, num_classes,
                                 support_extra, query_extra)


def test_call_passes_support_and_query_through_the_model_in_one_call(
    monkeypatch):
  model = base_model.BaseMLP(7, (6, 4), permutation_seed=3, seed=4)
  state = model.initial_state(5)
  rng = np.random.RandomState(27)
  support_labels, query_labels = _labels(seed=28), _labels(seed=29)
  support_x = rng.randn(len(support_labels), 7).astype(np.float32)
  # The query is shifted and scaled: batch statistics over support alone
  # and over support + query differ a lot.
  query_x = (3.0 * rng.randn(len(query_labels), 7) + 2.0).astype(np.float32)
  batch = few_shot.FewShotBatch(support_x, support_labels, query_x,
                                query_labels)

  calls = []
  original = model.functional_forward

  def counting_forward(state, inputs):
    calls.append(inputs.shape[0])
    return original(state, inputs)

  monkeypatch.setattr(model, 'functional_forward', counting_forward)
  objective = _RecordingObjective()
  loss, _ = objective(model, state, batch, NUM_CLASSES)
  monkeypatch.undo()

  assert calls == [len(support_labels) + len(query_labels)]
  support_features, query_features = objective.seen
  joint = model.functional_forward(
      state, np.concatenate([support_x, query_x]))[1][-1].numpy()
  np.testing.assert_array_equal(support_features.numpy(),
                                joint[:len(support_labels)])
  np.testing.assert_array_equal(query_features.numpy(),
                                joint[len(support_labels):])
  alone = model.functional_forward(state, support_x)[1][-1].numpy()
  assert np.max(np.abs(alone - support_features.numpy())) > 1e-2
  want, _ = meta_objective.MetaObjective().from_features(
      tf.constant(joint[:len(support_labels)]), support_labels,
      tf.constant(joint[len(support_labels):]), query_labels, NUM_CLASSES)
  assert loss.numpy() == want.numpy()


def test_call_matches_numpy_reference_on_model_features_in_float64():
  model = base_model.BaseMLP(7, (6, 4), seed=6, dtype='float64')
  state = model.initial_state(7)
  rng = np.random.RandomState(30)
  support_labels, query_labels = _labels(seed=31), _labels(seed=32)
  support_x = rng.randn(len(support_labels), 7)
  query_x = rng.randn(len(query_labels), 7)
  loss, _ = meta_objective.MetaObjective()(
      model, state,
      (support_x, support_labels, query_x, query_labels), NUM_CLASSES)
  features = model.functional_forward(
      state, np.concatenate([support_x, query_x]))[1][-1].numpy()
  want = numpy_loss(features[:len(support_labels)], support_labels,
                    features[len(support_labels):], query_labels,
                    NUM_CLASSES)[0]
  np.testing.assert_allclose(loss.numpy(), want, rtol=1e-7)


# -- logistic_regression_accuracy. --------------------------------------------


def test_logistic_regression_accuracy_on_separable_data():
  rng = np.random.RandomState(33)
  support_labels, query_labels = _labels(seed=34), _labels(seed=35)
  centres = 4.0 * rng.randn(NUM_CLASSES, NUM_FEATURES)
  support = centres[support_labels] + 0.1 * rng.randn(len(support_labels),
                                                       NUM_FEATURES)
  query = centres[query_labels] + 0.1 * rng.randn(len(query_labels),
                                                   NUM_FEATURES)
  accuracy = meta_objective.logistic_regression_accuracy(
      support.astype(np.float32), support_labels, query, query_labels)
  assert accuracy == pytest.approx(1.0)
  # Every query label moved to the next class: now all predictions are wrong.
  wrong = meta_objective.logistic_regression_accuracy(
      support, support_labels, query, (query_labels + 1) % NUM_CLASSES)
  assert wrong == pytest.approx(0.0)


def test_logistic_regression_accuracy_rejects_single_class_support():
  features = _features(6)
  with pytest.raises(ValueError, match='two classes'):
    meta_objective.logistic_regression_accuracy(
        features, np.zeros(6, np.int64), features, np.zeros(6, np.int64))
