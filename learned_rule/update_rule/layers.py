"""Building blocks of θ with the semantics of the released rule.

The released rule is built from Sonnet-v1 modules; their defaults matter
(spec §3.10): batch norm always normalises with the *current* batch
statistics and has an offset but no scale (ε = 1e-3); convolutions are 1-D,
stride 1, SAME padding, with bias; Conv1D and Linear weights start from a
truncated normal with std 1/sqrt(fan_in) and zero bias.
"""

import math

import keras
import tensorflow as tf

# §3.10: ε of every batch norm inside θ.
THETA_BATCH_NORM_EPSILON = 1e-3


class FanInTruncatedNormal(keras.initializers.Initializer):
  """Truncated normal with std 1/sqrt(fan_in), fan_in = prod(shape[:-1]).

  This is the Sonnet-v1 default for Linear and Conv1D (spec §3.10). Unlike
  ``keras.initializers.VarianceScaling`` it does not rescale for the
  truncation, which is what the released θ was initialised with.

  Args:
    seed: Optional int seed.
  """

  def __init__(self, seed=None):
    self.seed = seed

  def __call__(self, shape, dtype=None):
    fan_in = math.prod(shape[:-1]) or 1
    return keras.initializers.TruncatedNormal(
        stddev=1.0 / math.sqrt(fan_in), seed=self.seed)(shape, dtype=dtype)

  def get_config(self):
    return {'seed': self.seed}


class BatchStatNorm(keras.layers.Layer):
  """Batch norm over all axes but the last, with batch statistics, offset only.

  ``y = (x - mean) / sqrt(var + ε) + β`` with biased variance; there are no
  running averages, so training and inference behave alike — the Sonnet-v1
  semantics the released rule relies on (spec §3.10, pitfall §11.10). Never
  replace it by ``keras.layers.BatchNormalization`` in inference mode.

  Args:
    epsilon: ε (spec §3.10: 1e-3).
    **kwargs: Passed to ``keras.layers.Layer``.

  Call arguments:
    inputs: A tensor of rank >= 2; statistics are per last-axis channel.
  """

  def __init__(self, epsilon=THETA_BATCH_NORM_EPSILON, **kwargs):
    super().__init__(**kwargs)
    self.epsilon = epsilon

  def build(self, input_shape):
    self.offset = self.add_weight(
        name='offset', shape=(input_shape[-1],), initializer='zeros')

  def call(self, inputs):
    # The statistics of a [rows, channels] view: one reduction over the
    # major axis, which XLA and TF's kernels do faster than over several.
    channels = inputs.shape[-1]
    mean, variance = tf.nn.moments(tf.reshape(inputs, [-1, channels]),
                                   axes=[0])
    return ((inputs - mean) * tf.math.rsqrt(variance + self.epsilon) +
            self.offset)

  def get_config(self):
    config = super().get_config()
    config.update(epsilon=self.epsilon)
    return config


class AxisConv1D(keras.layers.Conv1D):
  """A 1-D convolution that runs along either of the first two axes.

  The update network holds its activations as [units, batch, channels] and
  convolves along the batch (axis 1) and along the units (axis 0, the
  ``UnitConv`` of spec §3.3). Both are one ``conv2d`` over the tensor seen
  as a single [1, units, batch, channels] image, with the kernel [k, C, O]
  laid along the chosen axis, so neither needs a transpose. Along axis 1
  it equals ``keras.layers.Conv1D`` on the same weights.

  Call arguments:
    inputs: [A, L, C] (rank 3).
    axis: 1 (default, the Keras Conv1D axis) or 0.
  """

  def call(self, inputs, axis=1):
    if axis not in (0, 1) or inputs.shape.rank != 3:
      raise ValueError(f'AxisConv1D convolves along axis 0 or 1 of a rank-3 '
                       f'input, got axis={axis} and shape {inputs.shape}.')
    kernel = tf.convert_to_tensor(self.kernel)
    kernel = kernel[:, None] if axis == 0 else kernel[None]
    # The bias is added to the 4-D result, where TF fuses it into the conv.
    outputs = tf.nn.conv2d(inputs[None], kernel, strides=1, padding='SAME')
    return tf.nn.bias_add(outputs, self.bias)[0]


def conv1d(filters, kernel_size, name, dtype=None):
  """A Sonnet-v1-style Conv1D: SAME padding, bias, fan-in init (§3.10)."""
  return AxisConv1D(
      filters, kernel_size, padding='same', use_bias=True,
      kernel_initializer=FanInTruncatedNormal(), bias_initializer='zeros',
      name=name, dtype=dtype)


def linear(units, name, dtype=None, kernel_initializer=None):
  """A Sonnet-v1-style Linear over the last axis (§3.10)."""
  return keras.layers.Dense(
      units, use_bias=True,
      kernel_initializer=kernel_initializer or FanInTruncatedNormal(),
      bias_initializer='zeros', name=name, dtype=dtype)
