"""The per-neuron update network that emits h (spec §3.3).

One small network, shared by every neuron of every layer, reads local
quantities of each (unit, example) pair and emits an H-channel vector h. It
is laid out as [units, batch, channels]: units are the conv batch, so the
network is applied identically per neuron, and the minibatch is the conv
length axis, so h accumulates statistics across examples. ``UnitConv``
blocks mix each unit with its index-neighbours.
"""

import math

import keras
import tensorflow as tf

from learned_rule.update_rule import layers

# §3.3 item 4: epsilons of the weight statistics.
WEIGHT_RMS_EPSILON = 1e-6
WEIGHT_STD_EPSILON = 1e-8
# §3.3 item 4: ε of the global RMS that scales the 8 weight statistics.
WEIGHT_STATS_NORM_EPSILON = 1e-6
# §3.3 item 2: unit IDs are sinusoids of linspace(0, 4π, U).
UNIT_ID_MAX_ANGLE = 4 * math.pi
# Our extension (M > 0): rate at which the per-neuron memory moves towards
# the value written by the update network.
MEMORY_RATE = 0.1


def weight_statistics(kernel, axis):
  """Mean |w|, RMS, mean and std of ``kernel`` over ``axis`` (spec §3.3).

  Returns a list of four vectors, one value per unit of the other axis.
  """
  mean_abs = tf.reduce_mean(tf.abs(kernel), axis=axis)
  rms = tf.sqrt(tf.reduce_mean(tf.square(kernel), axis=axis) +
                WEIGHT_RMS_EPSILON)
  mean, variance = tf.nn.moments(kernel, axes=[axis])
  return [mean_abs, rms, mean, tf.sqrt(variance + WEIGHT_STD_EPSILON)]


def neuron_weight_features(kernel_below, kernel_above):
  """The 8 weight-statistic channels per unit, globally RMS-scaled [U, 8].

  Incoming column statistics (over ``kernel_below``'s input axis) then
  outgoing row statistics (over ``kernel_above``'s output axis); at the
  input or top layer the four available ones are duplicated (spec §3.3).
  """
  stats = []
  if kernel_below is not None:
    stats += weight_statistics(kernel_below, axis=0)
  if kernel_above is not None:
    stats += weight_statistics(kernel_above, axis=1)
  if kernel_below is None or kernel_above is None:
    stats = stats + stats
  stats = tf.stack(stats, axis=-1)
  return stats * tf.math.rsqrt(tf.reduce_mean(tf.square(stats)) +
                               WEIGHT_STATS_NORM_EPSILON)


def unit_id_features(num_units, dtype):
  """sin and cos of linspace(0, 4π, U): a code for the unit index [U, 2]."""
  angle = tf.linspace(tf.constant(0.0, dtype),
                      tf.constant(UNIT_ID_MAX_ANGLE, dtype), num_units)
  return tf.stack([tf.sin(angle), tf.cos(angle)], axis=-1)


def _static_or_dynamic_shape(tensor):
  """Each dimension as a Python int where known (XLA-friendly), else a tensor."""
  dynamic = tf.shape(tensor)
  return [dim if dim is not None else dynamic[i]
          for i, dim in enumerate(tensor.shape)]


class UnitConv(keras.layers.Layer):
  """Residual convolution over neighbouring units (``ConcatUnitConv``, §3.3).

  Applies two [conv k3 C → C along the units, BN, ReLU] blocks to
  [U, B, C] and adds the result to the input.

  Args:
    channels: C.
    kernel_size: Conv kernel (paper: 3).
    batch_norm_epsilon: ε of the batch norms (spec §3.10).
    **kwargs: Passed to ``keras.layers.Layer``.
  """

  def __init__(self, channels, kernel_size=3,
               batch_norm_epsilon=layers.THETA_BATCH_NORM_EPSILON, **kwargs):
    super().__init__(**kwargs)
    self.channels = channels
    self.kernel_size = kernel_size
    self.batch_norm_epsilon = batch_norm_epsilon
    dtype = self.dtype_policy
    self.convs = [layers.conv1d(channels, kernel_size, f'conv_{i}', dtype)
                  for i in range(2)]
    self.norms = [layers.BatchStatNorm(batch_norm_epsilon, name=f'bn_{i}',
                                       dtype=dtype) for i in range(2)]

  def build(self, input_shape=None):
    for conv, norm in zip(self.convs, self.norms):
      conv.build((None, None, self.channels))
      norm.build((None, None, self.channels))
    self.built = True

  def call(self, inputs):
    net = inputs
    for conv, norm in zip(self.convs, self.norms):
      net = tf.nn.relu(norm(conv(net, axis=0)))
    return inputs + net

  def get_config(self):
    config = super().get_config()
    config.update(channels=self.channels, kernel_size=self.kernel_size,
                  batch_norm_epsilon=self.batch_norm_epsilon)
    return config


class UpdateNetwork(keras.layers.Layer):
  """Per-neuron network: local quantities → h [U, B, H] (spec §3.3).

  Input channels per (unit, example): the 8 globally scaled weight
  statistics, the raw offset b, then (our extension) the M memory channels,
  then a batch norm of [x, z, sin id, cos id, d (D channels)]. Then a conv
  k3 to H, BN, ReLU, a :class:`UnitConv`, and ``num_layers`` more [conv k3,
  BN, ReLU, UnitConv].

  Args:
    hidden_size: H (``compute_h_size``, paper: 64).
    delta_dim: D, channels of the incoming signal (paper: 32).
    num_layers: ``compute_h_layers`` (paper: 1).
    memory_size: M, per-neuron memory channels (0 = paper).
    kernel_size: Conv kernel along batch and units (paper: 3).
    memory_rate: How fast memory moves to the value written (ours).
    batch_norm_epsilon: ε of the batch norms (spec §3.10).
    **kwargs: Passed to ``keras.layers.Layer``.

  Call arguments:
    activations: x [B, U].
    pre_activations: z [B, U] (x itself at the input layer).
    signal: d [U, B, D].
    offset: b [U] (zeros at the input layer).
    kernel_below: W^l [n_{l-1}, U] or None at the input layer.
    kernel_above: W^{l+1} [U, n_{l+1}] or None at the top layer.
    memory: [U, M] or None when M = 0.

  Returns:
    h, [U, B, H]: the rule keeps h and d units-first, the layout in which
    the convolutions, readouts and V·δ need no transpose.
  """

  def __init__(self, hidden_size=64, delta_dim=32, num_layers=1,
               memory_size=0, kernel_size=3, memory_rate=MEMORY_RATE,
               batch_norm_epsilon=layers.THETA_BATCH_NORM_EPSILON, **kwargs):
    super().__init__(**kwargs)
    self.hidden_size = hidden_size
    self.delta_dim = delta_dim
    self.num_layers = num_layers
    self.memory_size = memory_size
    self.kernel_size = kernel_size
    self.memory_rate = memory_rate
    self.batch_norm_epsilon = batch_norm_epsilon
    dtype = self.dtype_policy
    self.input_norm = layers.BatchStatNorm(batch_norm_epsilon,
                                           name='input_bn', dtype=dtype)
    self.convs = [layers.conv1d(hidden_size, kernel_size, f'conv_{i}', dtype)
                  for i in range(num_layers + 1)]
    self.norms = [layers.BatchStatNorm(batch_norm_epsilon, name=f'bn_{i}',
                                       dtype=dtype)
                  for i in range(num_layers + 1)]
    self.unit_convs = [UnitConv(hidden_size, kernel_size, batch_norm_epsilon,
                                name=f'unit_conv_{i}', dtype=dtype)
                       for i in range(num_layers + 1)]
    if memory_size:
      self.memory_write = layers.linear(memory_size, 'memory_write', dtype)

  @property
  def normalized_channels(self):
    """x, z, two unit-ID channels and the D signal channels (§3.3)."""
    return 4 + self.delta_dim

  @property
  def input_channels(self):
    """8 weight statistics + offset + memory + normalised channels."""
    return 9 + self.memory_size + self.normalized_channels

  def build(self, input_shape=None):
    self.input_norm.build((None, None, self.normalized_channels))
    channels = self.input_channels
    for conv, norm, unit_conv in zip(self.convs, self.norms, self.unit_convs):
      conv.build((None, None, channels))
      norm.build((None, None, self.hidden_size))
      unit_conv.build()
      channels = self.hidden_size
    if self.memory_size:
      self.memory_write.build((None, self.hidden_size))
    self.built = True

  def call(self, activations, pre_activations, signal, offset, kernel_below,
           kernel_above, memory=None):
    dtype = activations.dtype
    batch, units = _static_or_dynamic_shape(activations)

    def per_unit(features):  # [U, C] → [U, B, C]
      return tf.broadcast_to(features[:, None, :],
                             [units, batch, features.shape[-1]])

    normalized = tf.concat([
        tf.transpose(activations)[:, :, None],
        tf.transpose(pre_activations)[:, :, None],
        per_unit(unit_id_features(units, dtype)),
        signal,
    ], axis=-1)
    raw = [per_unit(neuron_weight_features(kernel_below, kernel_above)),
           per_unit(offset[:, None])]
    if self.memory_size:
      raw.append(per_unit(memory))
    net = tf.concat(raw + [self.input_norm(normalized)], axis=-1)
    for conv, norm, unit_conv in zip(self.convs, self.norms, self.unit_convs):
      net = unit_conv(tf.nn.relu(norm(conv(net))))
    return net

  def next_memory(self, memory, h):
    """Our extension: m ← (1 − ρ) m + ρ tanh(Linear(mean_batch h))."""
    written = tf.tanh(self.memory_write(tf.reduce_mean(h, axis=1)))
    return (1.0 - self.memory_rate) * memory + self.memory_rate * written

  def get_config(self):
    config = super().get_config()
    config.update(hidden_size=self.hidden_size, delta_dim=self.delta_dim,
                  num_layers=self.num_layers, memory_size=self.memory_size,
                  kernel_size=self.kernel_size, memory_rate=self.memory_rate,
                  batch_norm_epsilon=self.batch_norm_epsilon)
    return config
