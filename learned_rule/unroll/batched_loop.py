"""Several tasks of one architecture unrolled as one computation (DESIGN §7).

The tasks in flight that share a base-model architecture (and the shapes of
their inputs) stack on a leading task axis T: every leaf of their state
nests becomes ``[T, ...]`` (the int input permutation included), their
unlabeled batches ``[T, k, B, ...]`` and their few-shot batches
``[T, ...]``. One ``tf.while_loop`` over the k steps runs all T tasks; each
step maps the per-task inner step (the rule's update, then the ridge
meta-objective on the new state, spec §5.2) over the task axis, so batch-norm
statistics, input permutations and the ridge fits stay per task. θ is
loop-invariant and bound to the rule's variables with
``keras.StatelessScope`` as in :class:`learned_rule.unroll.inner_loop.InnerLoop`,
and every step is recomputed on the backward pass (``tf.recompute_grad``),
so memory stays flat in k.

Two ways to map a step over the task axis (``mode``):

* ``'vectorized'``: ``tf.vectorized_map`` (pfor). The T tasks' ops fuse into
  one op each with T× more rows (matmuls become batched matmuls, the update
  network's convolutions see T× more (unit, example) rows). Fallback to a
  slow ``tf.while_loop`` is disabled: an op pfor cannot vectorise raises.
* ``'parallel'``: a Python loop over the tasks inside the step, T independent
  chains of ops that TensorFlow's executor runs concurrently on its inter-op
  threads.

With ``jit_compile_step`` the (vectorised) step is compiled with XLA, inside
the graph-mode while loop: its forward, its recomputation and its gradient
are XLA clusters, which fuse the many small elementwise ops of the rule.

``shards`` splits the T tasks into that many contiguous slices, each its
own (vectorised, compiled) computation. The slices do not depend on one
another, so TensorFlow's executor runs them concurrently on its inter-op
threads: on a CPU, where one XLA computation of these small ops leaves
cores idle much of the time, this keeps more of them busy. The slices of equal size share one compiled
function. The default (None) is one shard per CPU core for a compiled step
(1 uncompiled, and 1 on a GPU or TPU, where one large computation is
better).

Measured on the shared 2-core CPU (meta_train/cpu.gin: 4 tasks of
64-64-64-32, k = 8, B = 64; ``benchmarks/meta_train_throughput_lib/
batched.py``, one process, alternating rounds), train steps per second over
the sequential path: 'vectorized' 1.4–1.5×; 'vectorized' + XLA step
1.45–1.96× (the lower under load from other processes); the same with 2
shards 2.33× and with 4 shards 2.23×. 'parallel' was 1.06× (graph);
'parallel' + XLA step was about as fast as 'vectorized' + XLA, but it
compiled for ~200 s (T copies of the step in one computation) instead of
~70 s. Hence the defaults. Batching saves op overhead and uses both cores
better, not arithmetic: the step is dominated by the update network's
convolutions, einsums and elementwise ops over (unit, example) rows, which
cost the same stacked or not.

The meta-loss of a task is the sum of the meta-objective over its k new
states (paper eq. 1, spec §1, §6.1); the gradient returned is that of the
MEAN over tasks of these sums, i.e. the mean of the per-task meta-gradients
(spec §6.1: the θ update averages the workers' gradients).
"""

import collections
import os

import numpy as np
import tensorflow as tf

from learned_rule.model import base_model
from learned_rule.unroll import inner_loop as inner_loop_lib
from learned_rule.data import few_shot

MODES = ('vectorized', 'parallel')

BatchedMetaGradient = collections.namedtuple(
    'BatchedMetaGradient',
    ['loss', 'gradients', 'state', 'losses', 'accuracies'])
BatchedMetaGradient.__doc__ = """Meta-gradient of T stacked tasks.

Fields:
  loss: [T], each task's summed meta-loss over its k steps.
  gradients: d/dθ of mean(loss), aligned with θ.
  state: The final states, stacked [T, ...].
  losses, accuracies: [T, k], per task and step.
"""


def stack(nests):
  """Stacks a sequence of same-structured nests leaf by leaf to [T, ...]."""
  return tf.nest.map_structure(lambda *leaves: tf.stack(leaves), *nests)


def stack_few_shot(batches):
  """Stacks :class:`FewShotBatch` es field by field (None fields stay None)."""
  batches = [few_shot.FewShotBatch(*b) for b in batches]
  fields = []
  for values in zip(*batches):
    if any(v is None for v in values):
      if not all(v is None for v in values):
        raise ValueError('Some few-shot batches have extra targets and some '
                         'do not; they cannot be stacked.')
      fields.append(None)
    else:
      fields.append(tf.stack([tf.convert_to_tensor(v) for v in values]))
  return few_shot.FewShotBatch(*fields)


def unstack(nest, count):
  """The ``count`` per-task nests of a nest stacked on axis 0."""
  return [tf.nest.map_structure(lambda leaf, i=i: leaf[i], nest)
          for i in range(count)]


class BatchedLoop:
  """Compiled meta-gradients of stacked tasks, cached per architecture.

  One ``tf.function`` per base-model architecture; it traces once per
  number of tasks T (and per input shapes and number of classes).

  Args:
    inner_loop: The :class:`InnerLoop` whose rule, meta-objective and
      gradient settings (``jit_compile_gradient``, ``recompute``) apply.
    mode: 'vectorized' (``tf.vectorized_map``) or 'parallel' (a Python loop
      over the tasks), see the module docstring.
    jit_compile_step: Compile each step (all T tasks) with XLA. Faster on a
      CPU; the first call compiles for about a minute (cpu.gin), against
      ~40 s of tracing without it.
    shards: Concurrent computations the tasks of a call are split into
      (see the module docstring); None: :func:`default_shards`.
  """

  def __init__(self, inner_loop, mode='vectorized', jit_compile_step=True,
               shards=None):
    if mode not in MODES:
      raise ValueError(f'Unknown `mode` {mode!r}; allowed: {MODES}.')
    if shards is not None and shards < 1:
      raise ValueError(f'`shards` must be >= 1 or None, got {shards}.')
    self.inner_loop = inner_loop
    self.rule = inner_loop.rule
    self.mode = mode
    self.jit_compile_step = jit_compile_step
    self.shards = shards
    self._compiled = {}

  def _task_step(self, model, theta, permutation, layers, batch, meta_batch,
                 num_classes):
    """One task's step: (layers', loss, accuracy) of φ_{t+1}."""
    state = {base_model.PERMUTATION: permutation, base_model.LAYERS: layers}
    new_state = self.inner_loop.apply_rule(model, theta, state, batch)
    loss, metrics = self.inner_loop.objective(model, new_state, meta_batch,
                                              num_classes)
    return new_state[base_model.LAYERS], loss, metrics['accuracy']

  def _batched_step(self, model, permutations, labels, num_classes, count):
    """(θ, layers [T..], batch [T..], support_x, query_x, extras) → stacked
    (layers', loss [T], accuracy [T]).

    Integer tensors (permutations, labels) are closed over so that
    ``tf.recompute_grad`` only sees float arguments.
    """
    support_y, query_y = labels

    def one_task(theta, permutation, layers, batch, support_x, support_y_t,
                 query_x, query_y_t, extras):
      meta_batch = few_shot.FewShotBatch(support_x, support_y_t, query_x,
                                         query_y_t, *(extras or (None, None)))
      return self._task_step(model, theta, permutation, layers, batch,
                             meta_batch, num_classes)

    def tasks_step(theta, tasks):
      """The step of the tasks stacked in ``tasks`` (one shard)."""
      if self.mode == 'vectorized':
        return tf.vectorized_map(lambda args: one_task(theta, *args), tasks,
                                 fallback_to_while_loop=False)
      return stack([one_task(theta, *unstacked) for unstacked in unstack(
          tasks, tf.nest.flatten(tasks)[0].shape[0])])

    if self.jit_compile_step:
      tasks_step = tf.function(tasks_step, autograph=False, jit_compile=True)
    # Unset, only compiled steps are sharded: uncompiled, the executor
    # already runs independent ops concurrently, and shards only add tracing.
    bounds = shard_bounds(count, self.shards or (
        default_shards() if self.jit_compile_step else 1))

    def step(theta, layers, batches, support_x, query_x, extras):
      tasks = (permutations, layers, batches, support_x, support_y, query_x,
               query_y, extras)
      if len(bounds) == 1:
        return tasks_step(theta, tasks)
      # Independent computations: the executor runs them concurrently.
      outputs = [tasks_step(theta, tf.nest.map_structure(
          lambda leaf, a=start, b=stop: leaf[a:b], tasks))
                 for start, stop in bounds]
      return tf.nest.map_structure(lambda *parts: tf.concat(parts, 0),
                                   *outputs)

    return step

  def _loop(self, model, theta, state, batches, meta_batch, num_classes):
    """The while loop over k steps of T tasks; traced in a tf.function."""
    count, steps = batches.shape[0], batches.shape[1]
    step = self._batched_step(
        model, state[base_model.PERMUTATION],
        (meta_batch.support_y, meta_batch.query_y), num_classes, count)
    if self.inner_loop.recompute:
      step = tf.recompute_grad(step)
    extras = ()
    if meta_batch.support_extra is not None:
      extras = (meta_batch.support_extra, meta_batch.query_extra)
    dtype = model.compute_dtype

    def body(index, layers, losses, accuracies):
      layers, loss, accuracy = step(
          theta, layers, tf.gather(batches, index, axis=1),
          meta_batch.support_x, meta_batch.query_x, extras)
      return (index + 1, layers, losses.write(index, loss),
              accuracies.write(index, accuracy))

    def new_array():
      return tf.TensorArray(dtype, size=steps, element_shape=[count])

    _, layers, losses, accuracies = tf.while_loop(
        lambda index, *_: index < steps, body,
        (tf.constant(0), state[base_model.LAYERS], new_array(), new_array()),
        maximum_iterations=steps)
    final = {base_model.PERMUTATION: state[base_model.PERMUTATION],
             base_model.LAYERS: layers}
    return final, tf.transpose(losses.stack()), tf.transpose(
        accuracies.stack())

  def _function(self, model):
    key = model.signature
    if key not in self._compiled:
      def gradient(theta, state, batches, meta_batch, num_classes):
        with tf.GradientTape() as tape:
          tape.watch(theta)
          final, losses, accuracies = self._loop(
              model, theta, state, batches, meta_batch, num_classes)
          per_task = tf.reduce_sum(losses, axis=1)
          loss = tf.reduce_mean(per_task)
        gradients = tape.gradient(
            loss, theta, unconnected_gradients=tf.UnconnectedGradients.ZERO)
        return BatchedMetaGradient(per_task, gradients, final, losses,
                                   accuracies)
      self._compiled[key] = tf.function(
          gradient, autograph=False,
          jit_compile=self.inner_loop.jit_compile_gradient)
    return self._compiled[key]

  def _prepare(self, model, theta, state, batches, meta_batch):
    self.rule.check_compatible(model)
    batches = tf.convert_to_tensor(batches, dtype=model.compute_dtype)
    if batches.shape.rank is None or batches.shape.rank < 4:
      raise ValueError(f'`batches` must be [tasks, steps, batch, '
                       f'features...], got shape {batches.shape}.')
    count = batches.shape[0]
    if not count:
      raise ValueError('`batches` holds no task.')
    leading = {leaf.shape[0] for leaf in tf.nest.flatten(state)}
    if leading != {count}:
      raise ValueError(f'Every state leaf must have the {count} tasks of '
                       f'`batches` on axis 0; got leading sizes {leading}.')
    inner_loop_lib.check_state(unstack(state, 1)[0], model)
    inner_loop_lib.check_batches(
        tf.reshape(batches, [-1, *batches.shape[2:]]), model)
    meta_batch = few_shot.FewShotBatch(*meta_batch)
    for name, value in zip(meta_batch._fields, meta_batch):
      if value is not None and value.shape[0] != count:
        raise ValueError(f'`meta_batch.{name}` has {value.shape[0]} tasks on '
                         f'axis 0; `batches` has {count}.')
    theta = self.inner_loop.theta() if theta is None else list(theta)
    if len(theta) != len(self.rule.trainable_variables):
      raise ValueError(
          f'`theta` has {len(theta)} tensors; the rule has '
          f'{len(self.rule.trainable_variables)} trainable variables.')
    return theta, batches, meta_batch

  def meta_gradient(self, model, state, batches, meta_batch, num_classes,
                    theta=None):
    """d/dθ of the mean over T tasks of Σ_t MetaObjective(φ_t) (eq. 1).

    Args:
      model: The :class:`BaseMLP` of the tasks' architecture.
      state: Their states φ_0, stacked [T, ...] (see :func:`stack`).
      batches: ``[T, k, B, ...]`` unlabeled inputs.
      meta_batch: A :class:`FewShotBatch` of per-task fields stacked
        ``[T, ...]`` (see :func:`stack_few_shot`).
      num_classes: Number of classes, the same for every task.
      theta: Optional list of θ tensors; the rule's variables by default.

    Returns:
      A :class:`BatchedMetaGradient`.
    """
    theta, batches, meta_batch = self._prepare(model, theta, state, batches,
                                               meta_batch)
    return self._function(model)(theta, state, batches, meta_batch,
                                 num_classes)

  def tracing_count(self, model):
    """How many times the function of ``model``'s architecture was traced
    (once per number of tasks and input shapes)."""
    key = model.signature
    if key not in self._compiled:
      return 0
    return self._compiled[key].experimental_get_tracing_count()


def default_shards():
  """Shards of a batched step when none are set: one per CPU core on a
  machine without accelerators, else 1 (one large computation suits a GPU
  or TPU)."""
  if (tf.config.list_logical_devices('GPU') or
      tf.config.list_logical_devices('TPU')):
    return 1
  if hasattr(os, 'sched_getaffinity'):
    return max(1, len(os.sched_getaffinity(0)))  # The cores this process has.
  return os.cpu_count() or 1


def shard_bounds(count, shards):
  """``[(start, stop)]`` of at most ``shards`` contiguous, near-equal, non-
  empty slices of ``count`` tasks."""
  shards = max(1, min(shards, count))
  edges = [count * i // shards for i in range(shards + 1)]
  return list(zip(edges[:-1], edges[1:]))


def mean_accuracies(result):
  """Each task's accuracy averaged over its k steps, as a NumPy [T]."""
  return np.mean(np.asarray(result.accuracies), axis=1)

