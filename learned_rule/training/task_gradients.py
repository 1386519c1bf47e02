"""The meta-gradient of one task's truncation, as meta-training uses it.

:class:`MetaTrainer` averages these over the tasks in flight (spec §6.1);
every estimator (truncated backprop, PES) and every execution (one task
after another, batched, on a cluster's workers) returns them.
"""

import dataclasses

import numpy as np
import tensorflow as tf


@dataclasses.dataclass
class TaskGradient:
  """A truncated meta-gradient of one task (spec §6.1).

  From a batched group, ``gradients`` is the group's mean: its sum over the
  group, hence the mean :meth:`MetaTrainer.finish_step` takes, is unchanged.
  """

  loss: float
  gradients: list
  state: object
  finite: bool
  age: int
  accuracy: float = float('nan')
  # The estimator's carry of the task for its next truncation (PES: the
  # negative branch and the accumulated perturbation); None for TBPTT.
  carry: object = None


def task_gradient_from(result, age):
  """A :class:`TaskGradient` from an ``InnerLoop.MetaGradient`` (eager)."""
  loss = float(result.loss)
  finite = bool(np.isfinite(loss)) and bool(tf.reduce_all(
      [tf.reduce_all(tf.math.is_finite(g)) for g in result.gradients]))
  return TaskGradient(loss, list(result.gradients), result.state, finite, age,
                      float(np.mean(np.asarray(result.accuracies))))
