"""The learned top-down signal d^L (spec §3.2).

There is no loss in unsupervised learning, so the rule learns the signal
that enters the top of the network: a stack of 1-D convolutions that run
along the *minibatch* axis of the top activations x^L.
"""

import keras
import tensorflow as tf

from learned_rule.update_rule import layers


class TopSignal(keras.layers.Layer):
  """Maps top activations x^L [B, C] to the top signal d^L [C, B, D].

  Layout (spec §3.2): each top unit is a sequence along the batch. A conv
  (kernel 5, 1 → ``channels``) with BN and ReLU; then the ``channels`` act as
  the conv batch and the C top units as channels for two [conv k3 C → C, BN,
  ReLU] blocks, the only place top units mix densely; then ``num_layers``
  blocks of [conv k3, BN, ReLU] and a final conv k3 to ``delta_dim``.

  Because θ's shapes here depend on C, the top width is fixed per rule
  (spec §3.2 note b, §12 pitfall 12).

  Args:
    top_width: C, the base model's top width (paper: 32).
    channels: ``top_delta_size`` (paper: 64).
    num_layers: ``top_delta_layers`` (paper: 2).
    delta_dim: D, channels of the signal (paper: 32).
    first_kernel_size: Kernel of the first conv (paper: 5).
    kernel_size: Kernel of the other convs (paper: 3).
    batch_norm_epsilon: ε of the batch norms (spec §3.10: 1e-3).
    **kwargs: Passed to ``keras.layers.Layer``.

  Call arguments:
    top_activations: ``[B, C]``.

  Returns:
    ``[C, B, D]``: units first, the layout of the update network (§3.3).
  """

  def __init__(self, top_width=32, channels=64, num_layers=2, delta_dim=32,
               first_kernel_size=5, kernel_size=3,
               batch_norm_epsilon=layers.THETA_BATCH_NORM_EPSILON, **kwargs):
    super().__init__(**kwargs)
    self.top_width = top_width
    self.channels = channels
    self.num_layers = num_layers
    self.delta_dim = delta_dim
    self.first_kernel_size = first_kernel_size
    self.kernel_size = kernel_size
    self.batch_norm_epsilon = batch_norm_epsilon
    dtype = self.dtype_policy

    def conv_bn(filters, kernel, name):
      return (layers.conv1d(filters, kernel, f'{name}_conv', dtype),
              layers.BatchStatNorm(batch_norm_epsilon, name=f'{name}_bn',
                                   dtype=dtype))

    self.input_block = conv_bn(channels, first_kernel_size, 'input')
    self.unit_mixing_blocks = [
        conv_bn(top_width, kernel_size, f'unit_mixing_{i}') for i in range(2)]
    self.blocks = [conv_bn(channels, kernel_size, f'block_{i}')
                   for i in range(num_layers)]
    self.output_conv = layers.conv1d(delta_dim, kernel_size, 'output_conv',
                                     dtype)

  def build(self, input_shape=None):
    def build_block(block, in_channels):
      conv, norm = block
      conv.build((None, None, in_channels))
      norm.build((None, None, conv.filters))

    build_block(self.input_block, 1)
    for block in self.unit_mixing_blocks:
      build_block(block, self.top_width)
    for block in self.blocks:
      build_block(block, self.channels)
    self.output_conv.build((None, None, self.channels))
    self.built = True

  @staticmethod
  def _apply(block, inputs):
    conv, norm = block
    return tf.nn.relu(norm(conv(inputs)))

  def call(self, top_activations):
    width = top_activations.shape[-1]
    if width is not None and width != self.top_width:
      raise ValueError(
          f'The rule was built for a top width of {self.top_width} units '
          f'(spec §3.2) but the base model has {width}.')
    net = tf.transpose(top_activations)[:, :, None]   # [C, B, 1]
    net = self._apply(self.input_block, net)          # [C, B, channels]
    net = tf.transpose(net, [2, 1, 0])                # [channels, B, C]
    for block in self.unit_mixing_blocks:
      net = self._apply(block, net)
    net = tf.transpose(net, [2, 1, 0])                # [C, B, channels]
    for block in self.blocks:
      net = self._apply(block, net)
    return self.output_conv(net)                      # [C, B, D]

  def get_config(self):
    config = super().get_config()
    config.update(top_width=self.top_width, channels=self.channels,
                  num_layers=self.num_layers, delta_dim=self.delta_dim,
                  first_kernel_size=self.first_kernel_size,
                  kernel_size=self.kernel_size,
                  batch_norm_epsilon=self.batch_norm_epsilon)
    return config
