"""Meta-training on one machine with several devices (MirroredStrategy).

θ and the meta-optimizer's slots are mirrored on every device. A step
splits the tasks in flight across the replicas (task i to replica
i mod R); each replica computes the meta-gradients of its tasks on its
device (batched by architecture, as ``MetaTrainer.compute_gradients``
does), sums the finite ones, and the replicas all-reduce the sums and the
counts into the mean over every finite task of the step. That mean is what
:meth:`MetaTrainer.finish_step` applies, once, to the mirrored θ; so a step
gives the θ of the ``local`` strategy, up to float rounding.
"""

import dataclasses

import tensorflow as tf


class MirroredStepper:
  """Synchronous steps with the tasks split across replicas.

  Args:
    trainer: A :class:`MetaTrainer` built under ``strategy.scope()``.
    strategy: A ``tf.distribute.MirroredStrategy``.
  """

  def __init__(self, trainer, strategy):
    self.trainer = trainer
    self.strategy = strategy
    self.num_replicas = strategy.num_replicas_in_sync
    self._shares = self._results = None

  def _replica_step(self):
    """Runs in each replica: its tasks' gradients, then the all-reduce.

    The shares and the per-task results travel through ``self``:
    ``strategy.run`` copies the containers it is given as arguments.
    """
    context = tf.distribute.get_replica_context()
    replica = int(tf.get_static_value(context.replica_id_in_sync_group))
    own = self.trainer.compute_gradients(self._shares[replica])
    self._results[replica] = own
    finite = [result for result in own if result.finite]
    template = self.trainer.rule.trainable_variables
    if finite:
      sums = [tf.add_n([r.gradients[i] for r in finite])
              for i in range(len(template))]
    else:
      sums = [tf.zeros(v.shape, v.dtype) for v in template]
    count = tf.constant(float(len(finite)), template[0].dtype)
    return context.all_reduce(tf.distribute.ReduceOp.SUM, (sums, count))

  def step(self):
    """One synchronous θ update; returns what ``finish_step`` returns."""
    trainer = self.trainer
    trainer.fill()
    tasks = list(trainer.in_flight)
    shares = [tasks[replica::self.num_replicas]
              for replica in range(self.num_replicas)]
    self._shares, self._results = shares, [None] * self.num_replicas
    reduced = self.strategy.run(self._replica_step)
    results, self._shares, self._results = self._results, None, None
    sums, count = self.strategy.experimental_local_results(reduced)[0]
    count = float(count)
    mean = [tf.identity(total) / count for total in sums] if count else None
    ordered = {}
    for share, own in zip(shares, results):
      for task, result in zip(share, own):
        if result.finite:
          # Every finite task carries the all-reduced mean, so that the
          # mean finish_step takes over the finite tasks is that mean.
          result = dataclasses.replace(result, gradients=mean)
        ordered[id(task)] = result
    return trainer.finish_step(tasks, [ordered[id(task)] for task in tasks])
