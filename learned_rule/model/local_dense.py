"""One weight layer of the base model, with the state a learned rule reads.

A :class:`LocalDense` holds the per-neuron state the rule reads and writes:
forward kernel W, feedback kernel V (same shape, used only to carry the
learned top-down signal), offset b and, as our extension, a per-neuron
recurrent memory. :func:`dense_batch_norm` is its forward pass on plain
tensors. :class:`learned_rule.model.base_model.BaseMLP` stacks these layers.

Reference: paper_spec.md §2.2 (LinearBatchNorm), §2.4 (feedback weights),
§4 (no per-neuron state in the paper).
"""

import keras
import numpy as np
import tensorflow as tf

from learned_rule.model import activations as activations_lib

# §2.2: batch-norm epsilon of the base model ("LinearBatchNorm").
BATCH_NORM_EPSILON = 1e-6
# §2.2 / §2.4: truncated-normal init std of W and V, and of the offset b.
KERNEL_INIT_STDDEV = 0.01
OFFSET_INIT_STDDEV = 0.1

# Variable names of a layer, also the keys of its entry in a state nest
# (see learned_rule.model.base_model).
KERNEL = 'kernel'
FEEDBACK_KERNEL = 'feedback_kernel'
OFFSET = 'offset'
MEMORY = 'memory'


def check_positive_int(name, value):
  """Raises a ValueError naming ``name`` unless ``value`` is an int > 0."""
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
    raise ValueError(f'`{name}` must be a positive int, got {value!r}.')
  if value <= 0:
    raise ValueError(f'`{name}` must be a positive int, got {value}.')


def check_batch(inputs, name, check_finite=True):
  """Rank >= 2, batch >= 2 (statically), and finite values when eager."""
  if inputs.shape.rank is None or inputs.shape.rank < 2:
    raise ValueError(f'`{name}` must have rank >= 2 ([batch, features...]), '
                     f'got shape {inputs.shape}.')
  batch = inputs.shape[0]
  if batch is not None and batch < 2:
    raise ValueError(
        f'`{name}` must hold a batch of at least 2 examples (batch norm uses '
        f'batch statistics, spec §2.2), got batch size {batch}.')
  if check_finite and tf.executing_eagerly() and not bool(
      tf.reduce_all(tf.math.is_finite(inputs))):
    raise ValueError(f'`{name}` contains NaN or Inf values.')


def dense_batch_norm(inputs, kernel, offset, activation,
                     epsilon=BATCH_NORM_EPSILON):
  """One base-model layer on tensors: ``z = BN(x W) + b``, ``act(z)`` (§2.2).

  Batch statistics over axis 0, biased variance, no scale.

  Returns:
    ``(z, activation(z))``.
  """
  linear = tf.matmul(inputs, kernel)
  mean, variance = tf.nn.moments(linear, axes=[0])
  pre_activation = (linear - mean) * tf.math.rsqrt(variance + epsilon) + offset
  return pre_activation, activation(pre_activation)


class LocalDense(keras.layers.Layer):
  """A dense layer with batch norm and the per-neuron state of a learned rule.

  Forward (spec §2.2): ``z = BN(x W) + b`` with batch statistics, no scale and
  ε = 1e-6, no bias in the linear map; ``x' = activation(z)``.

  Args:
    units: Output width n_l.
    activation: Name of the nonlinearity, one of
      :data:`learned_rule.model.activations.ACTIVATIONS`.
    memory_size: Channels M of the per-neuron recurrent memory. 0 (default)
      is the paper, which has no per-neuron state (spec §4).
    kernel_stddev: Truncated-normal std of W and V (spec §2.2, 0.01).
    offset_stddev: Truncated-normal std of b (spec §2.2, 0.1).
    batch_norm_epsilon: ε of the batch norm (spec §2.2, 1e-6).
    seed: Optional int seed of the initializers.
    **kwargs: Passed to ``keras.layers.Layer``.

  Call arguments:
    inputs: ``[batch, n_in]`` float tensor.

  Returns:
    ``(pre_activation, activation)``, each ``[batch, units]``.

  Reference:
    paper_spec.md §2.2 (LinearBatchNorm), §2.4 (backward weights).
  """

  def __init__(self,
               units,
               activation='relu',
               memory_size=0,
               kernel_stddev=KERNEL_INIT_STDDEV,
               offset_stddev=OFFSET_INIT_STDDEV,
               batch_norm_epsilon=BATCH_NORM_EPSILON,
               seed=None,
               **kwargs):
    super().__init__(**kwargs)
    check_positive_int('units', units)
    if (isinstance(memory_size, bool) or
        not isinstance(memory_size, (int, np.integer)) or memory_size < 0):
      raise ValueError(f'`memory_size` must be an int >= 0, got '
                       f'{memory_size!r}.')
    self.units = int(units)
    self.activation_name = activations_lib.check_activation(activation)
    self.activation = activations_lib.get(activation)
    self.memory_size = int(memory_size)
    self.kernel_stddev = kernel_stddev
    self.offset_stddev = offset_stddev
    self.batch_norm_epsilon = batch_norm_epsilon
    self.seed = seed

  def _initializer(self, stddev, offset):
    seed = None if self.seed is None else self.seed + offset
    return keras.initializers.TruncatedNormal(stddev=stddev, seed=seed)

  def build(self, input_shape):
    n_in = input_shape[-1]
    if n_in is None:
      raise ValueError('LocalDense needs a known input width.')
    self.kernel = self.add_weight(
        name=KERNEL, shape=(n_in, self.units),
        initializer=self._initializer(self.kernel_stddev, 0))
    self.feedback_kernel = self.add_weight(
        name=FEEDBACK_KERNEL, shape=(n_in, self.units),
        initializer=self._initializer(self.kernel_stddev, 1))
    self.offset = self.add_weight(
        name=OFFSET, shape=(self.units,),
        initializer=self._initializer(self.offset_stddev, 2))
    if self.memory_size:
      self.memory = self.add_weight(
          name=MEMORY, shape=(self.units, self.memory_size),
          initializer='zeros', trainable=False)
    else:
      self.memory = None

  def call(self, inputs):
    # Shape checks only: BaseMLP checks that its input is finite, once,
    # rather than syncing on every layer's activations.
    check_batch(inputs, 'inputs', check_finite=False)
    return dense_batch_norm(inputs, self.kernel, self.offset, self.activation,
                            self.batch_norm_epsilon)

  def compute_output_shape(self, input_shape):
    shape = tuple(input_shape[:-1]) + (self.units,)
    return shape, shape

  def get_config(self):
    config = super().get_config()
    config.update(
        units=self.units,
        activation=self.activation_name,
        memory_size=self.memory_size,
        kernel_stddev=self.kernel_stddev,
        offset_stddev=self.offset_stddev,
        batch_norm_epsilon=self.batch_norm_epsilon,
        seed=self.seed)
    return config
