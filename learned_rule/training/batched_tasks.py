"""Grouping the tasks in flight for batched meta-gradients (DESIGN §7).

Tasks whose truncations have the same shapes (base-model architecture,
number of classes, k, batch size, input size, few-shot sizes and extra
augmentation targets) form a group; :class:`MetaTrainer` computes each
group's meta-gradient in one call of
:meth:`learned_rule.unroll.batched_loop.BatchedLoop.meta_gradient` on the tasks
stacked along a leading task axis.
"""

import numpy as np
import tensorflow as tf

from learned_rule.unroll import batched_loop
from learned_rule.data import few_shot


def _shapes(value):
  if value is None:
    return None
  return (tuple(np.shape(value)), np.asarray(value).dtype.str)


def group_key(task, inputs):
  """What must agree for two tasks to run stacked.

  Args:
    task: A :class:`TaskInFlight`.
    inputs: Its ``(batches, few_shot)`` of this truncation.
  """
  batches, meta_batch = inputs
  return (task.model.signature, task.task.num_classes, _shapes(batches),
          tuple(_shapes(v) for v in few_shot.FewShotBatch(*meta_batch)))


def groups(tasks, inputs):
  """Indices of ``tasks`` grouped by :func:`group_key`, in order of first
  appearance; every group keeps the tasks' order."""
  found = {}
  for index, (task, task_inputs) in enumerate(zip(tasks, inputs)):
    found.setdefault(group_key(task, task_inputs), []).append(index)
  return list(found.values())


def stacked(tasks, inputs):
  """``(state, batches, few_shot)`` of ``tasks`` stacked on a task axis."""
  return (batched_loop.stack([task.state for task in tasks]),
          np.stack([np.asarray(batches) for batches, _ in inputs]),
          batched_loop.stack_few_shot([meta for _, meta in inputs]))


def all_finite(result):
  """Whether every task's loss and the mean gradient of a
  :class:`BatchedMetaGradient` are finite (eager).

  A non-finite per-task gradient makes the mean non-finite, so a finite
  result means every task's gradient was finite.
  """
  return bool(np.all(np.isfinite(np.asarray(result.loss)))) and bool(
      tf.reduce_all([tf.reduce_all(tf.math.is_finite(g))
                     for g in result.gradients]))


def task_gradients(loop, tasks, inputs, result_type, sequential):
  """A gradient result for each of ``tasks``, in order, groups batched.

  Every task of a group with a finite batched result gets the group's mean
  gradient (the mean of its tasks' own gradients) and its own loss, state
  and accuracy. Each task of a group of `n` then adds the group mean to
  the sum that :meth:`MetaTrainer.finish_step` divides by the number of
  finite tasks, `n` times: the sum of the group's own gradients. So the
  update is the mean of the per-task gradients, as one after another. A
  group of one, or one with anything non-finite, runs ``sequential`` task
  by task (rare), so exactly the offending tasks are found and dropped.

  Args:
    loop: A :class:`learned_rule.unroll.batched_loop.BatchedLoop`.
    tasks: :class:`TaskInFlight` s.
    inputs: Their ``(batches, few_shot)``, drawn already.
    result_type: Builds a result from ``loss``, ``gradients``, ``state``,
      ``finite``, ``age`` and ``accuracy`` (``TaskGradient``).
    sequential: ``(task, inputs)`` → that task's result.

  Returns:
    A list of results aligned with ``tasks``.
  """
  results = [None] * len(tasks)
  for group in groups(tasks, inputs):
    members = [tasks[i] for i in group]
    batched = None
    if len(group) > 1:
      batched = loop.meta_gradient(
          members[0].model, *stacked(members, [inputs[i] for i in group]),
          members[0].task.num_classes)
      batched = batched if all_finite(batched) else None
    if batched is None:
      for index in group:
        results[index] = sequential(tasks[index], inputs[index])
      continue
    losses = np.asarray(batched.loss)
    accuracies = batched_loop.mean_accuracies(batched)
    states = batched_loop.unstack(batched.state, len(group))
    for position, index in enumerate(group):
      results[index] = result_type(
          loss=float(losses[position]), gradients=list(batched.gradients),
          state=states[position], finite=True,
          age=tasks[index].unrolls_done,
          accuracy=float(accuracies[position]))
  return results
