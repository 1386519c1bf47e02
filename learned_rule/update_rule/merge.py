"""Merging the twelve terms into one weight change ΔW (spec §3.6).

The merge is where the released rule bounds its step: every term and the
result are softly normalised per receptive field, a learned mixture combines
the terms, any component that would shrink the weights' length is removed,
and a fixed pull towards w̃ keeps receptive fields from collapsing.
"""

import math

import keras
import tensorflow as tf

from learned_rule.update_rule import layers
from learned_rule.update_rule import weight_terms

# §3.6 step 1 and 4: ε of the soft per-column normalisation. The released
# code stores it as the 1-tuple (1.,), which broadcasts to 1.0 (§11.8).
NORMALIZE_EPSILON = 1.0
# §3.6 step 2: initial value of every mixture coefficient (bias starts at 0).
INITIAL_COEFFICIENT = 0.1
# §3.6 step 5: ΔW ← ΔW − w̃/7, "an arbitrary scale choice".
ANTI_COLLAPSE_SCALE = 1.0 / 7.0


def soft_normalize(matrix, epsilon=NORMALIZE_EPSILON):
  """T / sqrt(ε + mean_i T_ij²) per column j (§3.6 step 1)."""
  return matrix * tf.math.rsqrt(
      epsilon + tf.reduce_mean(tf.square(matrix), axis=0, keepdims=True))


class WeightMerge(keras.layers.Layer):
  """Terms of :mod:`weight_terms` → ΔW (spec §3.6).

  1. Soft-normalise every term per column (ε = ``normalize_epsilon``).
  2. Learned mixture: Linear(12 → 1) over the stacked terms, divided by 12.
  3. Length constraint: p = max(mean(ΔW ⊙ w̃), 0); ΔW ← ΔW − p w̃. The step
     applied is −αΔW, so this removes any part that shrinks the weights.
  4. Divide by √12 and soft-normalise per column again.
  5. ΔW ← ΔW − ``anti_collapse_scale`` · w̃.

  Args:
    normalize_epsilon: ε of the soft normalisations (spec: 1.0).
    anti_collapse_scale: Scale of the anti-collapse term (spec: 1/7).
    initial_coefficient: Initial mixture coefficients (spec: 0.1).
    **kwargs: Passed to ``keras.layers.Layer``.

  Call arguments:
    terms: Dict from :data:`weight_terms.TERM_NAMES` to [n_in, n_out].
    w_tilde: The column-normalised kernel w̃ [n_in, n_out].

  Returns:
    ΔW, [n_in, n_out].
  """

  def __init__(self, normalize_epsilon=NORMALIZE_EPSILON,
               anti_collapse_scale=ANTI_COLLAPSE_SCALE,
               initial_coefficient=INITIAL_COEFFICIENT, **kwargs):
    super().__init__(**kwargs)
    self.normalize_epsilon = normalize_epsilon
    self.anti_collapse_scale = anti_collapse_scale
    self.initial_coefficient = initial_coefficient
    self.mixture = layers.linear(
        1, 'mixture', self.dtype_policy,
        kernel_initializer=keras.initializers.Constant(initial_coefficient))

  @property
  def num_terms(self):
    return len(weight_terms.TERM_NAMES)

  def build(self, input_shape=None):
    self.mixture.build((None, self.num_terms))
    self.built = True

  def call(self, terms, w_tilde):
    missing = set(weight_terms.TERM_NAMES) - set(terms)
    if missing:
      raise ValueError(f'Weight terms missing: {sorted(missing)}.')
    stacked = tf.stack(
        [soft_normalize(terms[name], self.normalize_epsilon)
         for name in weight_terms.TERM_NAMES], axis=-1)
    change = self.mixture(stacked)[..., 0] / self.num_terms
    shrink = tf.nn.relu(tf.reduce_mean(change * w_tilde))
    change = change - shrink * w_tilde
    change = soft_normalize(change / math.sqrt(self.num_terms),
                            self.normalize_epsilon)
    return change - self.anti_collapse_scale * w_tilde

  def get_config(self):
    config = super().get_config()
    config.update(normalize_epsilon=self.normalize_epsilon,
                  anti_collapse_scale=self.anti_collapse_scale,
                  initial_coefficient=self.initial_coefficient)
    return config
