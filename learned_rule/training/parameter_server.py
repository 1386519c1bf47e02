"""Asynchronous meta-training on a parameter-server cluster (spec §6.1).

The paper meta-trains with many workers that each compute truncated
meta-gradients of their own tasks against a shared θ, and a θ update that
averages a minibatch of them as they come in ("batched asynchronous SGD").
Here that design runs on TensorFlow's own engine:

* θ and the meta-optimizer's slots are created under
  ``ParameterServerStrategy.scope()``, so they live on the parameter servers;
* a ``ClusterCoordinator`` schedules one function per task truncation on the
  workers; it reads θ from the parameter servers when it runs there, and a
  worker that dies has its functions rescheduled on the others;
* the chief keeps every task in flight busy, collects finished task
  gradients in the order they were scheduled (the order the coordinator's
  queue hands them to workers), and applies the mean of ``tasks_per_update``
  of them with :meth:`MetaTrainer.finish_step`, while the other tasks go on
  computing against the θ they read: their gradients are *stale*.

Only the chief applies updates, one at a time, so the step counter (and the
Keras optimizer's own iteration counter, which is not atomic under
concurrent updates) counts every θ update exactly once. A version counter on
the parameter servers, set by the chief after each update and read by every
task function together with θ, measures staleness: the number of updates
between the θ a gradient was computed at and the θ it is applied to.

The chief holds the tasks' base-model states and sends each function its
state, batches and few-shot draw, so a rescheduled function recomputes the
same truncation and checkpoints stay on the chief. A function that finished
on a worker keeps its result there until the chief reads it; if that worker
dies in between, the coordinator does not run the function again (it has
finished), so the chief schedules it again itself, with the same inputs.
"""

import collections

from absl import logging
import gin
import numpy as np
import tensorflow as tf

from learned_rule.training import meta_trainer as meta_trainer_lib

# Substrings of the errors TensorFlow raises when a parameter server is gone.
_PS_FAILURE_MARKERS = ('/job:ps', 'job:ps', 'parameter server')
# ...and when the worker that holds a finished function's result is gone.
_WORKER_FAILURE_MARKER = '/job:worker'
# Times a task's function is scheduled again after losing its worker.
_RESCHEDULES = 3
_CONNECTION_ERRORS = (tf.errors.UnavailableError, tf.errors.AbortedError,
                      tf.errors.CancelledError, tf.errors.InternalError)


class ParameterServerError(meta_trainer_lib.TrainingError):
  """A parameter server is unreachable; the run cannot go on."""


@gin.configurable(denylist=['trainer', 'strategy'])
class AsyncStepper:
  """The chief's side of batched asynchronous SGD on θ.

  Args:
    trainer: A :class:`MetaTrainer` built under ``strategy.scope()``.
    strategy: A ``tf.distribute.experimental.ParameterServerStrategy``.
    tasks_per_update: Task gradients averaged per θ update (spec §6.1: a
      minibatch of 256 gradients; default: all tasks in flight, which makes
      the updates synchronous). At most ``trainer.tasks_in_flight``; fewer
      keep the workers busy with the rest while the chief updates.
  """

  def __init__(self, trainer, strategy, tasks_per_update=None):
    tasks_per_update = tasks_per_update or trainer.tasks_in_flight
    if not 1 <= tasks_per_update <= trainer.tasks_in_flight:
      raise ValueError(
          f'AsyncStepper.tasks_per_update must be in [1, '
          f'MetaTrainer.tasks_in_flight = {trainer.tasks_in_flight}], got '
          f'{tasks_per_update}.')
    self.trainer = trainer
    self.strategy = strategy
    self.tasks_per_update = tasks_per_update
    self.coordinator = (
        tf.distribute.experimental.coordinator.ClusterCoordinator(strategy))
    with strategy.scope():
      self.version = tf.Variable(trainer.step, dtype=tf.int64,
                                 trainable=False, name='theta_version')
    # (task, function arguments, RemoteValue), oldest first.
    self.pending = collections.deque()
    self._functions = {}

  # -- The function the workers run. -----------------------------------------

  def _remote_function(self, task):
    """The compiled task gradient of ``task``'s shapes, run on a worker."""
    key = (task.model.signature, task.task.num_classes)
    if key not in self._functions:
      loop = self.trainer.inner_loop
      variables = self.trainer.rule.trainable_variables
      model, num_classes = task.model, task.task.num_classes

      def task_gradient(state, batches, few_shot):
        # θ and its version are read together, on the worker, when the
        # function runs.
        version = self.version.read_value()
        theta = [tf.identity(v.value) for v in variables]
        return loop.meta_gradient_function(model)(
            theta, state, batches, few_shot, num_classes), version

      self._functions[key] = tf.function(task_gradient, autograph=False)
    return self._functions[key]

  def _schedule(self, task):
    batches, few_shot = self.trainer.task_inputs(task)
    few_shot = tuple(None if part is None else tf.convert_to_tensor(part)
                     for part in few_shot)
    arguments = (task.state, tf.convert_to_tensor(batches), few_shot)
    self.pending.append((task, arguments, self._dispatch(task, arguments)))

  def _dispatch(self, task, arguments):
    """Hands ``task``'s function to the coordinator; a RemoteValue."""
    return self.coordinator.schedule(self._remote_function(task),
                                     args=arguments)

  # -- One θ update. ----------------------------------------------------------

  def step(self):
    """Keeps every task in flight scheduled, waits for the oldest
    ``tasks_per_update`` gradients and applies their mean.

    Returns:
      What :meth:`MetaTrainer.finish_step` returns, plus the staleness of
      the applied gradients ('staleness/mean', 'staleness/max').

    Raises:
      ParameterServerError: A parameter server is unreachable (the newest
        checkpoint is intact; a restart resumes from it).
    """
    trainer = self.trainer
    trainer.fill()
    scheduled = {id(task) for task, _, _ in self.pending}
    for task in trainer.in_flight:
      if id(task) not in scheduled:
        self._schedule(task)
    tasks, results, versions = [], [], []
    while len(tasks) < self.tasks_per_update:
      task, arguments, remote = self.pending.popleft()
      gradient, version = self._fetch(task, arguments, remote)
      gradient = gradient._replace(state=tf.nest.map_structure(
          tf.convert_to_tensor, gradient.state))
      tasks.append(task)
      results.append(meta_trainer_lib.task_gradient_from(
          gradient, task.unrolls_done))
      versions.append(int(version))
    outcome = trainer.finish_step(tasks, results)
    self.version.assign(trainer.step)
    staleness = [trainer.step - 1 - version for version in versions]
    outcome['staleness/mean'] = float(np.mean(staleness))
    outcome['staleness/max'] = float(np.max(staleness))
    return outcome

  def _fetch(self, task, arguments, remote):
    """The result of ``task``'s function; scheduled again, with the same
    ``arguments``, when the worker that holds it died before it was read."""
    for attempt in range(_RESCHEDULES + 1):
      try:
        return remote.fetch()
      except _CONNECTION_ERRORS as error:
        text = str(error)
        summary = (f'{type(error).__name__}: '
                   f'{text.splitlines()[0] if text else ""}')
        if any(marker in text for marker in _PS_FAILURE_MARKERS):
          raise ParameterServerError(
              f'A parameter server is unreachable, so θ is lost from the '
              f'cluster; stopping. Restart the cluster: the run resumes from '
              f'its newest checkpoint. ({summary})') from error
        if _WORKER_FAILURE_MARKER not in text or attempt == _RESCHEDULES:
          raise
        logging.warning('The worker holding a task gradient was lost before '
                        'the chief read it; scheduling that task again. (%s)',
                        summary)
        remote = self._dispatch(task, arguments)
