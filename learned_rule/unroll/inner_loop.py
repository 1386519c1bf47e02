"""The compiled inner loop: N applications of the rule inside tf.while_loop.

A base model's state φ is a nest of tensors threaded through a
``tf.while_loop`` inside a ``tf.function``, so the same code runs as a graph
or compiled with XLA, on CPU, GPU or TPU. θ enters as a list of
tensors bound to the rule's variables with ``keras.StatelessScope``, which
makes one inner step a pure function of (θ, φ, batch): what per-step
``tf.recompute_grad`` needs to keep the memory of a meta-gradient flat in N.

Batches come in as one ``[N, B, ...]`` tensor sampled outside (stateless RNG
differs under XLA). Compiled functions are cached per base-model
architecture and mode; calls with the same shapes (and the same number of
classes) never retrace.

The meta-loss of an unroll is the sum of the meta-objective over the N new
states φ_1..φ_N (paper eq. 1, spec §1, §6.1).
"""

import collections
import weakref

import keras
import tensorflow as tf

from learned_rule.model import base_model
from learned_rule.unroll import compiled_recompute
from learned_rule import meta_objective as meta_objective_lib
from learned_rule.data import few_shot

UnrollResult = collections.namedtuple(
    'UnrollResult', ['state', 'losses', 'accuracies'])
MetaGradient = collections.namedtuple(
    'MetaGradient', ['loss', 'gradients', 'state', 'losses', 'accuracies'])


def check_batches(batches, model):
  """Validates an ``[N, B, ...]`` stack of unlabeled batches eagerly."""
  batches = tf.convert_to_tensor(batches, dtype=model.compute_dtype)
  if batches.shape.rank is None or batches.shape.rank < 3:
    raise ValueError(
        f'`batches` must be [steps, batch, features...], got shape '
        f'{batches.shape}.')
  if batches.shape[0] == 0:
    raise ValueError('`batches` holds no step.')
  model.flatten_inputs(batches[0])  # Rank, size and batch-size checks.
  if tf.executing_eagerly() and not bool(
      tf.reduce_all(tf.math.is_finite(batches))):
    raise ValueError('`batches` contains NaN or Inf values.')
  return batches


def check_state(state, model):
  """Raises ValueError naming the first entry of ``state`` that does not fit."""
  expected = model.state_spec()
  try:
    tf.nest.assert_same_structure(state, expected)
  except (ValueError, TypeError) as error:
    raise ValueError(
        f'`state` does not have the structure of a state of this base model '
        f'(widths {model.widths}, memory_size {model.memory_size}): '
        f'{error}') from error
  for path, value, want in zip(
      _paths(expected), tf.nest.flatten(state), tf.nest.flatten(expected)):
    if tuple(value.shape) != tuple(want.shape):
      raise ValueError(
          f'`state` entry {path} has shape {tuple(value.shape)}; this base '
          f'model (widths {model.widths}) needs {tuple(want.shape)}.')


def _paths(state):
  """Readable names of the flattened entries of a state nest."""
  names = [base_model.PERMUTATION]
  for index, entry in enumerate(state[base_model.LAYERS]):
    names += [f'layers[{index}].{key}' for key in sorted(entry)]
  return names


class InnerLoop:
  """Compiled unrolls of one rule, cached per base-model architecture.

  Args:
    rule: An :class:`UnsupervisedUpdate`.
    objective: The :class:`MetaObjective` scored on every new state.
    jit_compile: XLA for unrolls without gradient. Default on: faster for
      the forward unroll (see benchmarks/inner_step.py).
    jit_compile_gradient: XLA for meta-gradients. Default off: measured
      slower and compiling for minutes on CPU (benchmarks/inner_step.py).
    recompute: Per-step ``tf.recompute_grad`` in meta-gradients, so their
      memory does not grow with the number of steps.
    jit_compile_step: With ``recompute``, compile each step of a
      meta-gradient, and the recomputation and backward pass of its
      gradient, as XLA programs inside the graph-mode loop
      (:mod:`learned_rule.unroll.compiled_recompute`). Faster per step; each
      architecture compiles once more at its first meta-gradient.
  """

  def __init__(self, rule, objective=None, jit_compile=True,
               jit_compile_gradient=False, recompute=True,
               jit_compile_step=False):
    if jit_compile_step and not recompute:
      raise ValueError('`jit_compile_step` compiles the recomputed gradient '
                       'of each step; it needs `recompute=True`.')
    self.rule = rule
    self.objective = objective or meta_objective_lib.MetaObjective()
    self.jit_compile = jit_compile
    self.jit_compile_gradient = jit_compile_gradient
    self.recompute = recompute
    self.jit_compile_step = jit_compile_step
    self._compiled = {}

  # -- Pure pieces. -----------------------------------------------------------

  def theta(self):
    """The current θ as a list of tensors, in ``rule.trainable_variables``."""
    return [tf.convert_to_tensor(v.value) for v in self.rule.trainable_variables]

  def apply_rule(self, model, theta, state, batch):
    """One inner step φ_t → φ_{t+1}, a pure function of its arguments."""
    mapping = list(zip(self.rule.trainable_variables, theta))
    with keras.StatelessScope(state_mapping=mapping):
      pre_activations, activations = model.functional_forward(state, batch)
      return self.rule(state, pre_activations, activations)

  def _scored_step(self, model, permutation, labels, num_classes):
    """(θ, layers, batch, inputs) → (layers', loss, accuracy), pure in floats.

    Integer tensors (the permutation and the labels) are closed over rather
    than passed, so that ``tf.recompute_grad`` only sees float arguments.
    """
    support_y, query_y = labels

    def step(theta, layers, batch, support_x, query_x, extras):
      state = {base_model.PERMUTATION: permutation, base_model.LAYERS: layers}
      new_state = self.apply_rule(model, theta, state, batch)
      loss, metrics = self.objective(
          model, new_state,
          few_shot.FewShotBatch(support_x, support_y, query_x, query_y,
                                *(extras or (None, None))),
          num_classes)
      return new_state[base_model.LAYERS], loss, metrics['accuracy']

    return step

  # -- Loops. -----------------------------------------------------------------

  def _loop(self, model, theta, state, batches, meta_batch, num_classes,
            recompute):
    """The while loop shared by every mode; traced inside a tf.function."""
    steps = batches.shape[0]
    permutation = state[base_model.PERMUTATION]
    scored = meta_batch is not None
    if scored:
      meta_batch = few_shot.FewShotBatch(*meta_batch)
      step = self._scored_step(model, permutation,
                               (meta_batch.support_y, meta_batch.query_y),
                               num_classes)
      extras = ()
      if meta_batch.support_extra is not None:
        extras = (meta_batch.support_extra, meta_batch.query_extra)
      if recompute and self.jit_compile_step:
        # Gradients flow to θ and the layers, not to the inputs.
        step = compiled_recompute.compiled_recompute(step, 2)
      elif recompute:
        step = tf.recompute_grad(step)
    dtype = model.compute_dtype

    def body(index, layers, losses, accuracies):
      batch = batches[index]
      if scored:
        layers, loss, accuracy = step(
            theta, layers, batch, meta_batch.support_x, meta_batch.query_x,
            extras)
        losses = losses.write(index, loss)
        accuracies = accuracies.write(index, accuracy)
      else:
        current = {base_model.PERMUTATION: permutation,
                   base_model.LAYERS: layers}
        layers = self.apply_rule(model, theta, current, batch)[
            base_model.LAYERS]
      return index + 1, layers, losses, accuracies

    def new_array():
      return tf.TensorArray(dtype, size=steps if scored else 0)

    _, layers, losses, accuracies = tf.while_loop(
        lambda index, *_: index < steps, body,
        (tf.constant(0), state[base_model.LAYERS], new_array(), new_array()),
        maximum_iterations=steps)
    final = {base_model.PERMUTATION: permutation, base_model.LAYERS: layers}
    if not scored:
      return UnrollResult(final, None, None)
    return UnrollResult(final, losses.stack(), accuracies.stack())

  def _function(self, model, kind):
    """The compiled function of ``kind`` for ``model``'s architecture.

    Kinds: 'unroll' (state only), 'scored' (state and the meta-objective
    of every new state, no gradient) and 'gradient' (the meta-gradient).
    """
    key = (model.signature, kind)
    if key not in self._compiled:
      if kind == 'gradient':
        def gradient(theta, state, batches, meta_batch, num_classes):
          with tf.GradientTape() as tape:
            tape.watch(theta)
            result = self._loop(model, theta, state, batches, meta_batch,
                                num_classes, self.recompute)
            loss = tf.reduce_sum(result.losses)
          gradients = tape.gradient(
              loss, theta,
              unconnected_gradients=tf.UnconnectedGradients.ZERO)
          return MetaGradient(loss, gradients, result.state, result.losses,
                              result.accuracies)
        function = tf.function(gradient, autograph=False,
                               jit_compile=self.jit_compile_gradient)
      else:  # 'unroll' gets no meta_batch, 'scored' one.
        def unroll(theta, state, batches, meta_batch, num_classes):
          return self._loop(model, theta, state, batches, meta_batch,
                            num_classes, recompute=False)
        function = tf.function(unroll, autograph=False,
                               jit_compile=self.jit_compile)
      self._compiled[key] = function
    return self._compiled[key]

  def _prepare(self, model, theta, state, batches):
    self.rule.check_compatible(model)
    check_state(state, model)
    theta = self.theta() if theta is None else list(theta)
    if len(theta) != len(self.rule.trainable_variables):
      raise ValueError(
          f'`theta` has {len(theta)} tensors; the rule has '
          f'{len(self.rule.trainable_variables)} trainable variables.')
    return theta, state, check_batches(batches, model)

  def unroll(self, model, state, batches, theta=None):
    """Applies the rule once per batch; returns the final state φ_N.

    Args:
      model: The :class:`BaseMLP` whose architecture ``state`` has.
      state: φ_0, a state nest.
      batches: ``[N, B, ...]`` unlabeled inputs, one batch per step.
      theta: Optional list of θ tensors; the rule's variables by default.
    """
    theta, state, batches = self._prepare(model, theta, state, batches)
    return self._function(model, 'unroll')(theta, state, batches, None,
                                           0).state

  def scored_unroll(self, model, state, batches, meta_batch, num_classes,
                    theta=None):
    """The unroll of :meth:`meta_gradient` without its gradient: forward
    only, compiled with XLA when :attr:`jit_compile` (what evolution
    strategies need, :mod:`learned_rule.training.pes`).

    Returns:
      An ``UnrollResult``: the final state and the per-step meta-losses and
      accuracies of the new states φ_1..φ_N.
    """
    theta, state, batches = self._prepare(model, theta, state, batches)
    return self._function(model, 'scored')(
        theta, state, batches, few_shot.FewShotBatch(*meta_batch),
        num_classes)

  def meta_gradient(self, model, state, batches, meta_batch, num_classes,
                    theta=None):
    """d/dθ of Σ_t MetaObjective(φ_t) over the unroll (paper eq. 1).

    Returns:
      A ``MetaGradient``: the summed loss, gradients aligned with θ, the
      final state (to carry into the next truncation, spec §6.1), and the
      per-step losses and accuracies.
    """
    theta, state, batches = self._prepare(model, theta, state, batches)
    return self._function(model, 'gradient')(
        theta, state, batches, few_shot.FewShotBatch(*meta_batch),
        num_classes)

  def meta_gradient_function(self, model):
    """The compiled ``(θ, state, batches, few_shot, num_classes) →
    MetaGradient`` of ``model``'s architecture, without the eager checks of
    :meth:`meta_gradient`: for callers that trace it into functions of their
    own (e.g. a function scheduled on a remote worker)."""
    return self._function(model, 'gradient')

  def tracing_count(self, model, kind):
    """How many times the compiled function of ``kind`` was traced.

    ``kind`` is 'unroll', 'scored' or 'gradient'.
    """
    key = (model.signature, kind)
    if key not in self._compiled:
      return 0
    return self._compiled[key].experimental_get_tracing_count()


# One InnerLoop per rule and XLA setting, so that evaluating a rule on many
# seeds and settings compiles once per architecture.
_CACHED_LOOPS = weakref.WeakKeyDictionary()


def cached(rule, jit_compile=True):
  """The shared :class:`InnerLoop` of ``rule`` (forward unrolls only).

  Held as long as ``rule`` lives; meta-training builds its own loop with
  the gradient settings it needs.
  """
  loops = _CACHED_LOOPS.setdefault(rule, {})
  if jit_compile not in loops:
    loops[jit_compile] = InnerLoop(rule, jit_compile=jit_compile)
  return loops[jit_compile]


def unroll(rule, model, state, batches, steps=None, jit_compile=True):
  """Convenience: applies ``rule`` to ``model``'s ``state`` on ``batches``.

  Args:
    rule: An :class:`UnsupervisedUpdate`.
    model: A :class:`BaseMLP`.
    state: φ_0.
    batches: ``[N, B, ...]``.
    steps: Optional check that N equals this.
    jit_compile: XLA on or off.

  Returns:
    φ_N.
  """
  if steps is not None and tf.shape(batches)[0] != steps:
    raise ValueError(f'`batches` holds {tf.shape(batches)[0]} steps, '
                     f'expected {steps}.')
  return cached(rule, jit_compile).unroll(model, state, batches)
