"""Sending the learned signal one layer down through V (spec §3.4).

δ^l = d^l ⊙ sigmoid(z^l) + Linear(h^l): the incoming signal gated by the
pre-activation plus the neuron's own learned contribution. It travels down
through the feedback kernel, d^{l-1} = δ^l (V^l)^T, which plays the role of
W^T in backprop, and is RMS-normalised over its D channels.
"""

import keras
import tensorflow as tf

from learned_rule.update_rule import layers

# §3.4: ε of the RMS normalisation over the D channels.
RMS_EPSILON = 1e-6


class DownwardSignal(keras.layers.Layer):
  """d^l, z^l, h^l, V^l → d^{l-1} (spec §3.4).

  Args:
    hidden_size: H, channels of h.
    delta_dim: D, channels of the signal.
    rms_epsilon: ε of the RMS normalisation (spec §3.4: 1e-6).
    **kwargs: Passed to ``keras.layers.Layer``.

  Call arguments:
    signal: d^l [n_l, B, D].
    pre_activations: z^l [B, n_l].
    h: h^l [n_l, B, H].
    feedback_kernel: V^l [n_{l-1}, n_l].

  Returns:
    d^{l-1}, [n_{l-1}, B, D].
  """

  def __init__(self, hidden_size=64, delta_dim=32, rms_epsilon=RMS_EPSILON,
               **kwargs):
    super().__init__(**kwargs)
    self.hidden_size = hidden_size
    self.delta_dim = delta_dim
    self.rms_epsilon = rms_epsilon
    self.projection = layers.linear(delta_dim, 'projection',
                                    self.dtype_policy)

  def build(self, input_shape=None):
    self.projection.build((None, self.hidden_size))
    self.built = True

  def gated_signal(self, signal, pre_activations, h):
    """δ^l = d^l ⊙ sigmoid(z^l) + Linear(h^l), [n_l, B, D]."""
    return (signal * tf.sigmoid(tf.transpose(pre_activations))[:, :, None] +
            self.projection(h))

  def call(self, signal, pre_activations, h, feedback_kernel):
    delta = self.gated_signal(signal, pre_activations, h)
    # V · δ over the units: one matmul on the [n_l, B·D] view.
    shape = tf.shape(delta)
    below = tf.reshape(
        tf.matmul(feedback_kernel, tf.reshape(delta, [shape[0], -1])),
        [-1, shape[1], shape[2]])
    return below * tf.math.rsqrt(
        tf.reduce_mean(tf.square(below), axis=-1, keepdims=True) +
        self.rms_epsilon)

  def get_config(self):
    config = super().get_config()
    config.update(hidden_size=self.hidden_size, delta_dim=self.delta_dim,
                  rms_epsilon=self.rms_epsilon)
    return config
