"""The base model φ: an MLP with batch norm, forward and feedback weights.

The learned rule trains this model without labels. Every weight layer is a
:class:`learned_rule.model.local_dense.LocalDense` holding the per-neuron state
the rule reads and writes (W, V, b and, as our extension, a memory);
:class:`BaseMLP` stacks them after a fixed input permutation
(:func:`learned_rule.data.transforms.permutation_for`).

The inner loop never assigns these variables. It threads the state φ as a
nest of tensors (see :func:`BaseMLP.initial_state`) through a compiled
``tf.while_loop`` and runs the model with Keras 3 ``stateless_call``
(:meth:`BaseMLP.functional_forward`), so meta-gradients flow through the
unroll. Variables hold φ only between unrolls.

Reference: paper_spec.md §2 (base model), §2.3 (input permutation), §2.4
(feedback weights), §4 (no per-neuron state in the paper).
"""

import math

import keras
import tensorflow as tf

from learned_rule.model import activations as activations_lib
from learned_rule.model import local_dense
from learned_rule.data import transforms

# Keys of a state nest (see BaseMLP.initial_state): the input permutation,
# the layers and, in each layer's entry, the variable names of LocalDense.
PERMUTATION = 'input_permutation'
LAYERS = 'layers'
KERNEL = local_dense.KERNEL
FEEDBACK_KERNEL = local_dense.FEEDBACK_KERNEL
OFFSET = local_dense.OFFSET
MEMORY = local_dense.MEMORY


def forward(state, inputs, activation):
  """The base model on a state nest of any shapes (spec §2.2, §2.3).

  The same math as :class:`BaseMLP`, for callers without a built model (the
  exported SavedModel endpoints, whose widths are only known at run time).

  Args:
    state: A state nest.
    inputs: ``[batch, input_dim]``.
    activation: A callable nonlinearity.

  Returns:
    ``(pre_activations, activations)`` as :meth:`BaseMLP.call`.
  """
  x = tf.gather(inputs, state[PERMUTATION], axis=1)
  pre_activations, activations = [], [x]
  for entry in state[LAYERS]:
    z, x = local_dense.dense_batch_norm(x, entry[KERNEL], entry[OFFSET],
                                        activation)
    pre_activations.append(z)
    activations.append(x)
  return pre_activations, activations


class BaseMLP(keras.Model):
  """The base model: input permutation, then a stack of LocalDense layers.

  Args:
    input_dim: Size of the flattened input.
    widths: Output width of every weight layer, bottom to top; the last is
      the feature width (32 in the paper, spec §2.1). The paper's evaluation
      model is ``(128, 128, 128, 128, 32)`` on 196 inputs.
    activation: Nonlinearity of every layer, top included (spec §2.1).
    memory_size: Per-neuron memory channels M (0 = paper).
    permutation_seed: Seed of the fixed input permutation of this instance
      (spec §2.3); ``None`` keeps the identity order.
    seed: Optional seed of the weight initializers.
    **kwargs: Passed to ``keras.Model``.

  Call arguments:
    inputs: ``[batch, ...]`` with ``input_dim`` features after flattening.

  Returns:
    ``(pre_activations, activations)``: lists of length L and L + 1;
    ``activations[0]`` is the permuted input x^0 and ``activations[-1]``
    the features x^L.

  Reference:
    paper_spec.md §2.
  """

  def __init__(self,
               input_dim,
               widths,
               activation='relu',
               memory_size=0,
               permutation_seed=None,
               seed=None,
               **kwargs):
    super().__init__(**kwargs)
    local_dense.check_positive_int('input_dim', input_dim)
    widths = tuple(widths)
    if not widths:
      raise ValueError('`widths` must name at least one layer.')
    for i, width in enumerate(widths):
      local_dense.check_positive_int(f'widths[{i}]', width)
    self.input_dim = int(input_dim)
    self.widths = tuple(int(w) for w in widths)
    self.activation_name = activations_lib.check_activation(activation)
    self.memory_size = int(memory_size)
    self.permutation_seed = permutation_seed
    self.seed = seed
    self.dense_layers = [
        local_dense.LocalDense(width, activation, memory_size,
                               seed=None if seed is None else seed + 10 * i,
                               dtype=self.dtype_policy,
                               name=f'local_dense_{i}')
        for i, width in enumerate(self.widths)
    ]
    self.build((None, self.input_dim))

  def build(self, input_shape):
    permutation = transforms.permutation_for(self.input_dim,
                                             self.permutation_seed)
    self.input_permutation = self.add_weight(
        name=PERMUTATION, shape=(self.input_dim,), dtype='int32',
        initializer=keras.initializers.Constant(permutation),
        trainable=False)
    width = self.input_dim
    for layer in self.dense_layers:
      layer.build((None, width))
      width = layer.units
    self.built = True

  @property
  def num_layers(self):
    return len(self.widths)

  @property
  def signature(self):
    """Hashable architecture key: what a compiled unroll depends on."""
    return (self.input_dim, self.widths, self.activation_name,
            self.memory_size, self.dtype)

  def call(self, inputs):
    x = self.flatten_inputs(inputs)
    x = tf.gather(x, self.input_permutation, axis=1)
    pre_activations, activations = [], [x]
    for layer in self.dense_layers:
      z, x = layer(x)
      pre_activations.append(z)
      activations.append(x)
    return pre_activations, activations

  def flatten_inputs(self, inputs):
    """Flattens ``[batch, ...]`` to ``[batch, input_dim]`` with shape checks."""
    inputs = tf.convert_to_tensor(inputs, dtype=self.compute_dtype)
    local_dense.check_batch(inputs, 'inputs')
    features = math.prod(inputs.shape[1:])
    if features != self.input_dim:
      raise ValueError(
          f'`inputs` has {features} features per example (shape '
          f'{inputs.shape}) but this BaseMLP has input_dim={self.input_dim}.')
    return tf.reshape(inputs, [-1, self.input_dim])

  # -- The functional view used by the inner loop. ---------------------------

  def _map_variables(self, fn):
    """A state nest with ``fn(variable)`` at every entry."""
    layers = []
    for layer in self.dense_layers:
      entry = {KERNEL: fn(layer.kernel),
               FEEDBACK_KERNEL: fn(layer.feedback_kernel),
               OFFSET: fn(layer.offset)}
      if self.memory_size:
        entry[MEMORY] = fn(layer.memory)
      layers.append(entry)
    return {PERMUTATION: fn(self.input_permutation), LAYERS: tuple(layers)}

  def get_state(self):
    """Current variable values as a state nest (see :meth:`initial_state`)."""
    return self._map_variables(lambda v: tf.identity(v.value))

  def state_spec(self):
    """The shapes and dtypes of a state nest, as ``tf.TensorSpec`` leaves."""
    return self._map_variables(
        lambda v: tf.TensorSpec(v.shape, tf.as_dtype(v.dtype)))

  def set_state(self, state):
    """Assigns a state nest to the variables."""
    self.input_permutation.assign(state[PERMUTATION])
    for layer, entry in zip(self.dense_layers, state[LAYERS], strict=True):
      layer.kernel.assign(entry[KERNEL])
      layer.feedback_kernel.assign(entry[FEEDBACK_KERNEL])
      layer.offset.assign(entry[OFFSET])
      if self.memory_size:
        layer.memory.assign(entry[MEMORY])

  def initial_state(self, seed):
    """A fresh φ_0 drawn with stateless RNG from ``seed`` (spec §2.2).

    Args:
      seed: int, or an int tensor of shape [2] (a stateless RNG seed).

    Returns:
      ``{'input_permutation': int32 [input_dim], 'layers': ({'kernel': W,
      'feedback_kernel': V, 'offset': b[, 'memory': m]}, ...)}``. The
      permutation is this instance's fixed one.
    """
    return initial_state(self.input_dim, self.widths, seed,
                         permutation=self.input_permutation.value,
                         memory_size=self.memory_size,
                         dtype=self.compute_dtype)

  def functional_forward(self, state, inputs):
    """Runs the model on a state nest instead of its variables.

    Uses Keras 3 ``stateless_call`` so that the result is a pure function of
    ``state`` and ``inputs``: gradients flow to the state tensors.
    """
    trainable, non_trainable = self._state_to_variable_lists(state)
    (pre_activations, activations), _ = self.stateless_call(
        trainable, non_trainable, inputs)
    return pre_activations, activations

  def _state_to_variable_lists(self, state):
    values = {id(self.input_permutation): state[PERMUTATION]}
    for layer, entry in zip(self.dense_layers, state[LAYERS], strict=True):
      values[id(layer.kernel)] = entry[KERNEL]
      values[id(layer.feedback_kernel)] = entry[FEEDBACK_KERNEL]
      values[id(layer.offset)] = entry[OFFSET]
      if self.memory_size:
        values[id(layer.memory)] = entry[MEMORY]
    trainable = [values[id(v)] for v in self.trainable_variables]
    non_trainable = [values[id(v)] for v in self.non_trainable_variables]
    return trainable, non_trainable

  def get_config(self):
    config = super().get_config()
    config.update(
        input_dim=self.input_dim,
        widths=list(self.widths),
        activation=self.activation_name,
        memory_size=self.memory_size,
        permutation_seed=self.permutation_seed,
        seed=self.seed)
    return config


def initial_state(input_dim, widths, seed, permutation=None, memory_size=0,
                  dtype='float32'):
  """Draws φ_0 for an architecture with stateless RNG (spec §2.2, §2.4).

  Works on static or tensor ``widths`` entries, so it also serves the
  exported ``initial_state`` endpoint.

  Args:
    input_dim: Input size (int or scalar int tensor).
    widths: Sequence of layer widths.
    seed: int or int tensor [2].
    permutation: Optional int32 [input_dim]; identity when None.
    memory_size: Per-neuron memory channels M (0 = paper).
    dtype: Float dtype of the state.

  Returns:
    A state nest as described in :meth:`BaseMLP.initial_state`.
  """
  seed = tf.convert_to_tensor(seed)
  if seed.shape.rank == 0:
    seed = tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])
  seeds = tf.random.experimental.stateless_split(seed, 3 * len(widths))
  if permutation is None:
    permutation = tf.range(input_dim, dtype=tf.int32)
  layers = []
  fan_in = input_dim
  for i, width in enumerate(widths):
    shape = tf.stack([fan_in, width])
    kernel_stddev = local_dense.KERNEL_INIT_STDDEV
    entry = {
        KERNEL: kernel_stddev * tf.random.stateless_truncated_normal(
            shape, seeds[3 * i], dtype=dtype),
        FEEDBACK_KERNEL: kernel_stddev * tf.random.stateless_truncated_normal(
            shape, seeds[3 * i + 1], dtype=dtype),
        OFFSET: local_dense.OFFSET_INIT_STDDEV *
                tf.random.stateless_truncated_normal(
                    tf.reshape(width, [1]), seeds[3 * i + 2], dtype=dtype),
    }
    if memory_size:
      entry[MEMORY] = tf.zeros(tf.stack([width, memory_size]), dtype=dtype)
    layers.append(entry)
    fan_in = width
  return {PERMUTATION: tf.convert_to_tensor(permutation, tf.int32),
          LAYERS: tuple(layers)}
