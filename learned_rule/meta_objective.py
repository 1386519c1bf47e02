"""The few-shot meta-objective: closed-form ridge regression (spec §5).

Fit ridge regression from the base model's top features of a labelled
support set to its (centred, normalised) one-hot targets, predict a query
set, normalise the predictions, and score them with a squared error between
unit vectors, i.e. twice the cosine distance, plus the ridge penalty. The
fit is differentiable, so the loss carries a gradient back into θ through
the features.

A scikit-learn logistic regression (C = 1) on the same features is the
monitor the released evaluation also reports; it is not differentiated.
"""

import numpy as np
import tensorflow as tf

from learned_rule.data import few_shot

# §5.2: ridge factor λ.
RIDGE = 0.1
# Our choice: ε inside the row norm of the predictions. The released code
# divides by the bare norm (§5.2 step 5), which is NaN for an all-zero row.
PREDICTION_NORM_EPSILON = 1e-12
# §5.3: inverse regularisation C of the logistic-regression monitor.
LOGISTIC_C = 1.0
SOLVERS = ('cholesky', 'solve')


def center_targets(targets):
  """Subtract the scalar mean, then scale rows to unit mean norm (§5.2.3)."""
  targets = targets - tf.reduce_mean(targets)
  return targets * tf.math.rsqrt(
      tf.reduce_mean(tf.reduce_sum(tf.square(targets), axis=1)))


def solve_ridge(features, targets, ridge=RIDGE, solver='cholesky'):
  """w = (AᵀA + diag(λ, …, λ, 0))⁻¹ Aᵀy with A = [features, 1] (§5.2.4).

  The bias column is not penalised. The released code forms the explicit
  inverse; a Cholesky factorisation or a linear solve is the same math and
  better conditioned (spec §11.14).

  Args:
    features: [K, F].
    targets: [K, T].
    ridge: λ.
    solver: 'cholesky' or 'solve'.

  Returns:
    [F + 1, T]; the last row is the bias.
  """
  if solver not in SOLVERS:
    raise ValueError(f'Unknown `solver` {solver!r}; allowed: {SOLVERS}.')
  ones = tf.ones_like(features[:, :1])
  design = tf.concat([features, ones], axis=1)
  penalty = tf.concat([
      tf.fill(tf.shape(features)[1:], tf.constant(ridge, features.dtype)),
      tf.zeros([1], features.dtype)], axis=0)
  gram = tf.matmul(design, design, transpose_a=True) + tf.linalg.diag(penalty)
  rhs = tf.matmul(design, targets, transpose_a=True)
  if solver == 'cholesky':
    return tf.linalg.cholesky_solve(tf.linalg.cholesky(gram), rhs)
  return tf.linalg.solve(gram, rhs)


class MetaObjective:
  """Ridge few-shot meta-objective (spec §5.2).

  Args:
    ridge: λ (spec: 0.1).
    center: Centre and normalise the targets (spec: on).
    normalize_predictions: L2-normalise every query prediction (spec: on).
    solver: 'cholesky' (default) or 'solve'.
  """

  def __init__(self, ridge=RIDGE, center=True, normalize_predictions=True,
               solver='cholesky'):
    if solver not in SOLVERS:
      raise ValueError(f'Unknown `solver` {solver!r}; allowed: {SOLVERS}.')
    if not ridge > 0:
      raise ValueError(f'`ridge` must be > 0 (the Gram matrix of dead '
                       f'features is singular without it), got {ridge}.')
    self.ridge = ridge
    self.center = center
    self.normalize_predictions = normalize_predictions
    self.solver = solver

  def targets(self, labels, num_classes, extra_targets=None, dtype=tf.float32):
    """One-hot labels, optionally with regression columns, centred (§5.2.3)."""
    targets = tf.one_hot(labels, num_classes, dtype=dtype)
    if extra_targets is not None:
      targets = tf.concat([targets, tf.cast(extra_targets, dtype)], axis=1)
    return center_targets(targets) if self.center else targets

  def from_features(self, support_features, support_labels, query_features,
                    query_labels, num_classes, support_extra=None,
                    query_extra=None):
    """The loss and metrics given already computed features.

    Args:
      support_features: [K, F].
      support_labels: int [K].
      query_features: [K', F].
      query_labels: int [K'].
      num_classes: Number of one-hot columns.
      support_extra: Optional extra regression targets [K, E] (e.g. the
        augmentation amounts, spec §6.2).
      query_extra: The query's extra targets [K', E].

    Returns:
      ``(loss, metrics)``: the scalar of §5.2.6 and a dict with
      ``query_mse``, ``ridge_penalty`` and ``accuracy`` (argmax of the
      class columns on the query set).
    """
    dtype = support_features.dtype
    support_targets = self.targets(support_labels, num_classes, support_extra,
                                   dtype)
    query_targets = self.targets(query_labels, num_classes, query_extra, dtype)
    weights = solve_ridge(support_features, support_targets, self.ridge,
                          self.solver)
    predictions = tf.matmul(query_features, weights[:-1]) + weights[-1]
    if self.normalize_predictions:
      predictions = predictions * tf.math.rsqrt(
          tf.reduce_sum(tf.square(predictions), axis=1, keepdims=True) +
          PREDICTION_NORM_EPSILON)
    # §5.2.6: both terms are divided by the support size K, as in the
    # released code (support and query have the same size there).
    count = tf.cast(tf.shape(support_features)[0], dtype)
    query_mse = tf.reduce_sum(tf.square(predictions - query_targets)) / count
    ridge_penalty = (self.ridge * tf.reduce_sum(tf.square(weights[:-1])) /
                     count)
    correct = tf.equal(tf.argmax(predictions[:, :num_classes], axis=1),
                       tf.cast(query_labels, tf.int64))
    metrics = {'query_mse': query_mse, 'ridge_penalty': ridge_penalty,
               'accuracy': tf.reduce_mean(tf.cast(correct, dtype))}
    return query_mse + ridge_penalty, metrics

  def __call__(self, model, state, meta_batch, num_classes):
    """The loss of base-model state ``state`` on a few-shot task.

    Support and query pass through the base model in *one* call, so its
    batch norm uses the statistics of all of them (spec §5.2 step 2).

    Args:
      model: A :class:`BaseMLP` (used functionally).
      state: Its state nest.
      meta_batch: A :class:`FewShotBatch` (or tuple with the same fields).
      num_classes: Number of classes of the task.

    Returns:
      ``(loss, metrics)`` as in :meth:`from_features`.
    """
    meta_batch = few_shot.FewShotBatch(*meta_batch)
    count = tf.shape(meta_batch.support_x)[0]
    # One scope names every op of the objective in a profile.
    with tf.name_scope('meta_objective'):
      _, activations = model.functional_forward(
          state, tf.concat([meta_batch.support_x, meta_batch.query_x],
                           axis=0))
      features = activations[-1]
      return self.from_features(
          features[:count], meta_batch.support_y, features[count:],
          meta_batch.query_y, num_classes, meta_batch.support_extra,
          meta_batch.query_extra)


def logistic_regression_accuracy(support_features, support_labels,
                                 query_features, query_labels, c=LOGISTIC_C):
  """Query accuracy of scikit-learn logistic regression (spec §5.3).

  A monitor only: it runs in NumPy and is never differentiated.
  """
  from sklearn import linear_model  # pylint: disable=g-import-not-at-top
  support_labels = np.asarray(support_labels)
  if np.unique(support_labels).size < 2:
    raise ValueError('The support set must hold at least two classes.')
  classifier = linear_model.LogisticRegression(C=c, max_iter=1000)
  classifier.fit(np.asarray(support_features, np.float64), support_labels)
  predicted = classifier.predict(np.asarray(query_features, np.float64))
  return float(np.mean(predicted == np.asarray(query_labels)))
