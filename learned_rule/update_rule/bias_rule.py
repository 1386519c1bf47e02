"""The update of the forward offsets b (spec §3.7)."""

import keras
import tensorflow as tf

from learned_rule.update_rule import layers

# §3.7: g ← g / sqrt(0.5 + mean(g²)).
NORMALIZE_EPSILON = 0.5


class BiasRule(keras.layers.Layer):
  """h^l [U, B, H] → Δb^l [U] (spec §3.7).

  g = mean over the batch of Linear(h → 1); if mean(g) < 0 it is subtracted
  ("force nonlinearities to be exercised — biases can't all be increased
  without bound": the step is −αΔb, so no net upward drift of all offsets);
  then g ← g / sqrt(ε + mean(g²)).

  Args:
    hidden_size: H.
    normalize_epsilon: ε of the final normalisation (spec: 0.5).
    **kwargs: Passed to ``keras.layers.Layer``.

  Call arguments:
    h: [U, B, H].

  Returns:
    Δb, [U].
  """

  def __init__(self, hidden_size=64, normalize_epsilon=NORMALIZE_EPSILON,
               **kwargs):
    super().__init__(**kwargs)
    self.hidden_size = hidden_size
    self.normalize_epsilon = normalize_epsilon
    self.readout = layers.linear(1, 'readout', self.dtype_policy)

  def build(self, input_shape=None):
    self.readout.build((None, self.hidden_size))
    self.built = True

  def call(self, h):
    change = tf.reduce_mean(self.readout(h)[..., 0], axis=1)
    change = change - tf.minimum(tf.reduce_mean(change), 0.0)
    return change * tf.math.rsqrt(self.normalize_epsilon +
                                  tf.reduce_mean(tf.square(change)))

  def get_config(self):
    config = super().get_config()
    config.update(hidden_size=self.hidden_size,
                  normalize_epsilon=self.normalize_epsilon)
    return config
