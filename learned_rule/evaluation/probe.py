"""The few-shot probe: how good a set of features is (spec §5.2, §5.3).

Every method of a transfer evaluation is scored by the same probe on the
same draws: the ridge regression of the meta-objective (λ = 0.1, spec §5.2)
and scikit-learn logistic regression (spec §5.3), both fitted on the
support set (10 labelled examples per class, §8.1) and scored on the query.
"""

import numpy as np
import tensorflow as tf

from learned_rule import meta_objective as meta_objective_lib

METRICS = ('ridge_accuracy', 'logistic_accuracy', 'meta_objective')


def score(support_features, support_labels, query_features, query_labels,
          num_classes, objective=None):
  """Probe metrics of one support/query draw.

  Args:
    support_features: ``[K, F]``.
    support_labels: int ``[K]``.
    query_features: ``[K', F]``.
    query_labels: int ``[K']``.
    num_classes: Classes of the task.
    objective: A :class:`MetaObjective` (default: the paper's).

  Returns:
    Dict with 'ridge_accuracy', 'logistic_accuracy' and 'meta_objective'
    (the ridge loss, lower is better).
  """
  support_features = np.asarray(support_features, np.float64)
  query_features = np.asarray(query_features, np.float64)
  if support_features.ndim != 2 or query_features.shape[1:] != (
      support_features.shape[1:]):
    raise ValueError(f'Features must be [K, F] with the same F for support '
                     f'and query, got {support_features.shape} and '
                     f'{query_features.shape}.')
  if not (np.all(np.isfinite(support_features)) and
          np.all(np.isfinite(query_features))):
    # A diverged method is not scored: NaN, which the results tables show
    # as missing instead of a number near chance.
    return {metric: float('nan') for metric in METRICS}
  objective = objective or meta_objective_lib.MetaObjective()
  loss, metrics = objective.from_features(
      tf.constant(support_features), tf.constant(support_labels),
      tf.constant(query_features), tf.constant(query_labels), num_classes)
  logistic = meta_objective_lib.logistic_regression_accuracy(
      support_features, support_labels, query_features, query_labels)
  return {'ridge_accuracy': float(metrics['accuracy']),
          'logistic_accuracy': logistic,
          'meta_objective': float(loss)}


def score_draws(features, draws, num_classes, objective=None):
  """Mean probe metrics over draws.

  Args:
    features: ``[(support_features, query_features)]``, one per draw.
    draws: The :class:`FewShotBatch` draws the features come from.
    num_classes: Classes of the task.
    objective: A :class:`MetaObjective` (default: the paper's).

  Returns:
    Dict metric → mean over the draws.
  """
  if len(features) != len(draws):
    raise ValueError(f'{len(features)} feature pairs for {len(draws)} draws.')
  scores = [score(support, draw.support_y, query, draw.query_y, num_classes,
                  objective)
            for (support, query), draw in zip(features, draws)]
  return {metric: float(np.mean([s[metric] for s in scores]))
          for metric in METRICS}
