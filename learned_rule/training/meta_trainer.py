"""Truncated backprop through time over a distribution of tasks (spec §6.1).

Several tasks are in flight at once, as the paper's many workers are: each
carries its base model from truncation to truncation until its sampled
length is reached, then is replaced by a fresh task. One meta-training step
computes a truncated meta-gradient for every task in flight (the meta-loss
of a truncation is the sum of the meta-objective over its k new states,
paper eq. 1), averages the finite ones, clips their global norm and applies
them to θ with Adam.

A step has three parts, so that other executions (batched tasks,
distribution strategies) reuse the same task handling: :meth:`task_inputs`
draws a task's next batches, :meth:`task_gradient` computes its truncated
meta-gradient, and :meth:`finish_step` applies the mean of a set of task
gradients to θ and advances those tasks. The trainer owns its state
(θ, the meta-optimizer's slots, the step and skip counters, the task RNG and
the tasks in flight) and writes and reads it whole with :meth:`save` and
:meth:`restore`.
"""

import gin
import keras
import numpy as np
import tensorflow as tf

from learned_rule.model import base_model
from learned_rule.unroll import batched_loop as batched_loop_lib
from learned_rule.unroll import inner_loop as inner_loop_lib
from learned_rule.tasks import task as tasks_lib
from learned_rule.data import transforms
from learned_rule.training import batched_tasks
from learned_rule.training import checkpoints
from learned_rule.training import pes as pes_lib
from learned_rule.training import task_gradients
from learned_rule.training import tasks_in_flight as in_flight_lib


class TrainingError(RuntimeError):
  """Meta-training cannot go on (e.g. too many non-finite steps in a row)."""


@gin.configurable('meta_optimizer')
def make_meta_optimizer(learning_rate=1e-3, beta_1=0.9, beta_2=0.999,
                        epsilon=1e-8):
  """Adam on θ (spec §6.1: "adaptive learning rate methods (Adam)").

  Configured as ``meta_optimizer.*`` in gin, a name no other optimizer
  uses. The paper gives no values; 1e-3 is what learned on a CPU (DESIGN §6).
  """
  return keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta_1,
                               beta_2=beta_2, epsilon=epsilon,
                               name='meta_adam')


TaskInFlight = in_flight_lib.TaskInFlight


TaskGradient = task_gradients.TaskGradient
task_gradient_from = task_gradients.task_gradient_from


def saved_theta(arrays):
  """θ's tensors in the arrays of a checkpoint that :meth:`MetaTrainer.save`
  wrote (named ``'theta/<i>'``), in the order of the rule's variables."""
  count = sum(name.startswith('theta/') for name in arrays)
  return [arrays[f'theta/{i}'] for i in range(count)]


@gin.configurable(denylist=['rule', 'distribution', 'seed', 'optimizer',
                            'inner_loop', 'batch_tasks', 'xla_step',
                            'task_shards'])
class MetaTrainer:
  """Meta-trains ``rule`` on tasks from ``distribution``.

  Args:
    rule: The :class:`UnsupervisedUpdate` whose θ is trained.
    distribution: A :class:`TaskDistribution`.
    tasks_in_flight: Tasks whose gradients are averaged per update (the
      paper's workers; ours: 4 on a CPU, DESIGN §6).
    clip_global_norm: Global-norm clip of the averaged meta-gradient (spec
      §6.1 "gradient clipping"; the value is ours: norms of the summed
      k = 8 loss measured here are 0.1–0.3, so 1.0 only cuts outliers).
    max_consecutive_skips: Stop after this many updates in a row without a
      single finite task gradient.
    seed: Seeds the task sampling.
    optimizer: Adam on θ; :func:`make_meta_optimizer` by default.
    inner_loop: The compiled :class:`InnerLoop`; one for ``rule`` by
      default.
    batch_tasks: Run the tasks in flight of one shape as one computation
      (:mod:`learned_rule.unroll.batched_loop`) rather than one after another; an
      execution setting (a flag), the same θ updates to float tolerance.
    xla_step: With ``batch_tasks``, compile each batched step with XLA
      (``BatchedLoop.jit_compile_step``; an execution setting too).
    task_shards: With ``batch_tasks``, split each group into this many
      concurrent computations (``BatchedLoop.shards``; None: one per CPU
      core for an XLA step, else 1, and 1 on an accelerator).
    estimator: The meta-gradient of a truncation: 'tbptt', truncated
      backprop through time (spec §6.1), or 'pes', antithetic persistent
      evolution strategies (:mod:`learned_rule.training.pes`, configured
      as ``PESEstimator.*``; tasks one after another, ``batch_tasks``
      unused).
  """

  def __init__(self, rule, distribution, tasks_in_flight=4,
               clip_global_norm=1.0, max_consecutive_skips=10, seed=0,
               optimizer=None, inner_loop=None, batch_tasks=True,
               xla_step=True, task_shards=None, estimator='tbptt'):
    if distribution.top_width != rule.config.top_width:
      raise ValueError(
          f'TaskDistribution.top_width {distribution.top_width} differs from '
          f'the rule\'s top width {rule.config.top_width}.')
    if tasks_in_flight < 1:
      raise ValueError(f'`tasks_in_flight` must be >= 1, got '
                       f'{tasks_in_flight}.')
    self.estimator = pes_lib.check_estimator(estimator)
    self.pes = pes_lib.PESEstimator() if estimator == 'pes' else None
    self.rule = rule
    self.distribution = distribution
    self.tasks_in_flight = tasks_in_flight
    self.clip_global_norm = clip_global_norm
    self.max_consecutive_skips = max_consecutive_skips
    self.rng = np.random.default_rng(seed)
    self.optimizer = optimizer or make_meta_optimizer()
    self.optimizer.build(rule.trainable_variables)
    self.inner_loop = inner_loop or inner_loop_lib.InnerLoop(rule)
    self.batch_tasks = batch_tasks
    self.batched_loop = batched_loop_lib.BatchedLoop(
        self.inner_loop, jit_compile_step=xla_step, shards=task_shards)
    self.step = 0
    self.skipped_tasks = 0
    self.skipped_updates = 0
    self.consecutive_skips = 0
    # Process CPU seconds of the run so far, over every call that resumed
    # it (the loop adds its own; Schedule.max_cpu_minutes budgets it).
    self.cpu_seconds = 0.0
    # Provenance of the rule this run started from (warm_start), or None;
    # kept in checkpoints so that a resumed run still records it.
    self.started_from = None
    self.in_flight = []
    self._models = {}
    self._apply = None

  # -- Tasks. -----------------------------------------------------------------

  def model_for(self, task):
    """A base model of ``task``'s architecture, one per architecture.

    The inner loop runs it functionally on each task's own state, so tasks
    of one architecture share it and its compiled functions.
    """
    input_dim = self.distribution.input_dim(task)
    key = (input_dim, task.widths, task.activation)
    if key not in self._models:
      self._models[key] = tasks_lib.build_model(
          task, input_dim, memory_size=self.rule.config.memory_size)
    return self._models[key]

  def new_task(self, task=None):
    """A fresh task in flight, with a fresh base model φ_0."""
    task = task or self.distribution.sample(self.rng)
    model = self.model_for(task)
    # The cached model may hold another task's permutation; the state
    # carries this task's own (spec §2.3).
    state = base_model.initial_state(
        model.input_dim, task.widths, task.seed,
        permutation=transforms.permutation_for(model.input_dim,
                                               task.permutation_seed),
        memory_size=self.rule.config.memory_size, dtype=model.compute_dtype)
    return TaskInFlight(task, model, state, task.batch_rng())

  def fill(self):
    """Starts fresh tasks until :attr:`tasks_in_flight` are in flight."""
    while len(self.in_flight) < self.tasks_in_flight:
      self.in_flight.append(self.new_task())

  def first_layer_filters(self):
    """``(kernel [D, n], image shape, permutation)`` of the first image task
    in flight, for filter images; None when no image task is in flight
    (text features have no image to show)."""
    for task in self.in_flight:
      data = self.distribution.load_data(task.task)
      if data.modality != 'image':
        continue
      layer = task.state[base_model.LAYERS][0]
      return (layer[base_model.KERNEL].numpy(), data.shape,
              task.state[base_model.PERMUTATION].numpy())
    return None

  # -- Resumable state. --------------------------------------------------------

  def save(self, manager):
    """Writes everything needed to resume exactly to a checkpoint of
    :attr:`step`; returns its path.

    Args:
      manager: A :class:`checkpoints.CheckpointManager`.
    """
    arrays = {f'theta/{i}': v.numpy()
              for i, v in enumerate(self.rule.trainable_variables)}
    arrays.update({f'optimizer/{i}': np.asarray(v.numpy())
                   for i, v in enumerate(self.optimizer.variables)})
    task_arrays, records = in_flight_lib.to_checkpoint(self.in_flight)
    arrays.update(task_arrays)
    metadata = {
        'step': self.step,
        'rule_config': self.rule.config.to_dict(),
        'rng': self.rng.bit_generator.state,
        'skipped_tasks': self.skipped_tasks,
        'skipped_updates': self.skipped_updates,
        'cpu_seconds': self.cpu_seconds,
        'started_from': self.started_from,
        'workers': records,
    }
    return manager.save(self.step, arrays, metadata)

  def restore(self, manager):
    """Restores the newest complete checkpoint of ``manager``.

    Returns:
      The restored step, or None if there is no checkpoint.

    Raises:
      CheckpointError: The checkpoint holds another rule configuration.
    """
    if manager.latest() is None:
      return None
    step, arrays, metadata = manager.restore()
    checkpoints.check_compatible(metadata['rule_config'],
                                 self.rule.config.to_dict())
    for variable, value in zip(self.rule.trainable_variables,
                               saved_theta(arrays), strict=True):
      variable.assign(value)
    for i, variable in enumerate(self.optimizer.variables):
      variable.assign(arrays[f'optimizer/{i}'])
    self.step = metadata['step']
    self.rng = in_flight_lib.rng_from_state(metadata['rng'])
    self.skipped_tasks = metadata['skipped_tasks']
    self.skipped_updates = metadata['skipped_updates']
    # Checkpoints of version 0.2.0 and earlier did not count it.
    self.cpu_seconds = float(metadata.get('cpu_seconds', 0.0))
    # What the checkpoint records wins; checkpoints of earlier versions
    # record nothing, and then the caller's value stays.
    if metadata.get('started_from') is not None:
      self.started_from = metadata['started_from']
    self.in_flight = in_flight_lib.from_checkpoint(
        arrays, metadata['workers'], self.model_for,
        self.rule.config.memory_size)
    return step

  # -- The two halves of a step. ----------------------------------------------

  def task_inputs(self, task):
    """The unlabeled batches ``[k, B, D]`` and the few-shot draw of the next
    truncation of ``task`` (a :class:`TaskInFlight`), drawn from its RNG.

    Every truncation has the task's k steps; the last may run past the
    sampled length by fewer than k steps (ours: one compiled shape per k).
    """
    data = self.distribution.load_data(task.task)
    return tasks_lib.task_batches(task.task, data, task.rng,
                                  task.task.truncation_steps)

  def task_gradient(self, task, theta=None, inputs=None):
    """One truncated unroll of ``task`` and its meta-gradient.

    Args:
      task: A :class:`TaskInFlight`.
      theta: Optional θ tensors (default: the rule's variables).
      inputs: Optional ``(batches, few_shot)`` (default: drawn by
        :meth:`task_inputs`).

    Returns:
      A :class:`TaskGradient`.
    """
    batches, few_shot = inputs or self.task_inputs(task)
    result = self.inner_loop.meta_gradient(
        task.model, task.state, batches, few_shot, task.task.num_classes,
        theta=theta)
    return task_gradient_from(result, task.unrolls_done)

  def apply_gradients(self, gradients):
    """Clips the global norm of ``gradients`` and applies them with Adam.

    Returns:
      The global norm before clipping.
    """
    if self._apply is None:  # One graph: ~70 variables' updates, not eager.
      def clip_and_apply(gradients):
        clipped, norm = tf.clip_by_global_norm(gradients,
                                               self.clip_global_norm)
        self.optimizer.apply(clipped, self.rule.trainable_variables)
        return norm
      self._apply = tf.function(clip_and_apply, autograph=False)
    return float(self._apply(list(gradients)))

  # -- One meta-training step. ------------------------------------------------

  def pes_task_gradient(self, task):
    """One truncation of ``task``'s two PES branches and its estimate, a
    :class:`TaskGradient` (:mod:`learned_rule.training.pes`)."""
    batches, few_shot = self.task_inputs(task)

    def unroll(theta, state):
      return self.inner_loop.scored_unroll(
          task.model, state, batches, few_shot, task.task.num_classes,
          theta=[tf.constant(t) for t in theta])

    result = self.pes.task_gradient(unroll, self.inner_loop.theta(),
                                    task.state, task.carry, task.rng)
    return TaskGradient(
        result.loss, [tf.constant(g) for g in result.gradients],
        result.state, result.finite, task.unrolls_done, result.accuracy,
        carry=result.carry)

  def compute_gradients(self, tasks):
    """A :class:`TaskGradient` for each of ``tasks``, in order: one after
    another, or with :attr:`batch_tasks` the tasks of one shape as one
    computation (:func:`batched_tasks.task_gradients`, which recomputes a
    non-finite group task by task to drop exactly the offending tasks).
    PES estimates run one after another."""
    if self.estimator == 'pes':
      return [self.pes_task_gradient(task) for task in tasks]
    if not self.batch_tasks:
      return [self.task_gradient(task) for task in tasks]
    return batched_tasks.task_gradients(
        self.batched_loop, tasks, [self.task_inputs(t) for t in tasks],
        TaskGradient, lambda task, x: self.task_gradient(task, inputs=x))

  def train_step(self):
    """Advances every task in flight by one truncation and updates θ once.

    Returns:
      What :meth:`finish_step` returns.
    """
    self.fill()
    tasks = list(self.in_flight)
    return self.finish_step(tasks, self.compute_gradients(tasks))

  def finish_step(self, tasks, results):
    """Updates θ with the mean finite gradient of ``results`` and advances
    ``tasks`` (their :class:`TaskGradient`, in order).

    A task with a non-finite gradient is dropped (a fresh one takes its
    place); a task that reached its length is done. Tasks in flight that
    are not in ``tasks`` are left as they are.

    Returns:
      A dict of what happened: mean loss, losses of fresh and trained base
      models, gradient norm, skipped counts and per-dataset losses.

    Raises:
      TrainingError: :attr:`max_consecutive_skips` updates in a row had no
        finite gradient.
    """
    finite = [r for r in results if r.finite]
    self.skipped_tasks += len(results) - len(finite)
    norm = float('nan')
    if finite:
      averaged = [tf.add_n([r.gradients[i] for r in finite]) / len(finite)
                  for i in range(len(finite[0].gradients))]
      norm = self.apply_gradients(averaged)
      self.consecutive_skips = 0
    else:
      self.skipped_updates += 1
      self.consecutive_skips += 1
      if self.consecutive_skips >= self.max_consecutive_skips:
        raise TrainingError(
            f'{self.consecutive_skips} meta-training steps in a row had no '
            f'finite task gradient; stopping. The last good checkpoint is '
            f'intact.')
    by_dataset = [(task.task.dataset, result.loss, result.accuracy)
                  for task, result in zip(tasks, results) if result.finite]
    ended = set()
    for task, result in zip(tasks, results):
      if not result.finite:
        ended.add(id(task))  # Reset: a fresh task takes its place.
        continue
      task.state = result.state
      task.carry = result.carry
      task.unrolls_done += 1
      if task.finished:
        ended.add(id(task))
    self.in_flight = [task for task in self.in_flight
                      if id(task) not in ended]
    self.step += 1

    def mean(values):
      return float(np.mean(values)) if values else float('nan')

    return {
        'meta_loss': mean([r.loss for r in finite]),
        'meta_loss/fresh': mean([r.loss for r in finite if r.age == 0]),
        'meta_loss/trained': mean([r.loss for r in finite if r.age > 0]),
        'gradient_norm': norm,
        'skipped_tasks': self.skipped_tasks,
        'skipped_updates': self.skipped_updates,
        'losses_by_dataset': by_dataset,
    }
