"""The twelve weight-update terms and their low-rank readouts (spec §3.5).

Each term is an [n_in, n_out] matrix for one weight layer W^l. Five are
hand-designed functions of the (column-normalised) weights and activations;
the others are built from *low-rank readouts* of the per-neuron vectors h on
the two sides of the synapses: learned linear maps H → G on each side, and
the batch-and-channel average of their outer products.
"""

import math

import keras
import tensorflow as tf

from learned_rule.rule import layers

# §3.5: ε inside the per-column RMS that gives w̃.
KERNEL_RMS_EPSILON = 1e-6
# §3.5 decorr_x / hebb: ε of the per-unit standardisation of activations.
STANDARDIZE_EPSILON = 1e-6
# §3.5 decorr_x: ε of the whole-matrix RMS rescaling of the term.
DECORRELATION_EPSILON = 1e-8

# The 12 terms in sorted key order, which is the order of the learned
# mixture coefficients (spec §3.5, §9).
TERM_NAMES = (
    '0_order', '1_order', 'decorr_x', 'hebb', 'large_decay',
    'lin_lower_symm', 'lin_upper_psd', 'lin_upper_symm', 'rbf',
    'sqr_lower_symm', 'sqr_upper_symm', 'w_base')

# Readout name → whether it is PSD (one map used on both sides). The names
# follow the released code's forward readouts (spec §3.5): 15 maps H → G.
READOUTS = {
    'weight_readout_0': False,
    'weight_readout_1': False,
    'weight_readout_rbf': False,
    'lin_lower_symm': False,
    'lin_upper_psd': True,
    'lin_upper_symm': False,
    'sqr_lower_symm': False,
    'sqr_upper_symm': False,
}


def normalized_kernel(kernel, epsilon=KERNEL_RMS_EPSILON):
  """w̃: every column (receptive field) of W scaled to unit RMS (§3.5)."""
  return kernel * tf.math.rsqrt(
      tf.reduce_mean(tf.square(kernel), axis=0, keepdims=True) + epsilon)


def standardize_over_batch(activations, epsilon=STANDARDIZE_EPSILON):
  """Centres each unit over the batch and divides by its RMS (§3.5)."""
  centred = activations - tf.reduce_mean(activations, axis=0, keepdims=True)
  return centred * tf.math.rsqrt(
      tf.reduce_mean(tf.square(centred), axis=0, keepdims=True) + epsilon)


def symmetrize(matrix):
  """(U + Uᵀ)/√2 with the diagonal zeroed (the ``symm`` structure, §3.5)."""
  symmetric = (matrix + tf.transpose(matrix)) / math.sqrt(2.0)
  return tf.linalg.set_diag(symmetric, tf.zeros_like(
      tf.linalg.diag_part(symmetric)))


class LowRankReadout(keras.layers.Layer):
  """R(h_top, h_bottom)_{ij} = (1/G)(1/B) Σ_{g,b} r_bot[g,b,i] r_top[g,b,j].

  ``top`` and ``bottom`` are learned linear maps H → G. In ``psd`` mode the
  top map serves both sides, which makes R positive semi-definite.

  Args:
    hidden_size: H.
    num_channels: G (``num_grad_channels``, paper: 4).
    psd: Use one map on both sides.
    **kwargs: Passed to ``keras.layers.Layer``.

  Call arguments:
    h_top: [B, n_top, H].
    h_bottom: [B, n_bottom, H]; ignored in ``psd`` mode.

  Returns:
    [n_bottom, n_top] (``[n_top, n_top]`` in ``psd`` mode).

  Reference:
    paper_spec.md §3.5 (``low_rank_readout``).
  """

  def __init__(self, hidden_size=64, num_channels=4, psd=False, **kwargs):
    super().__init__(**kwargs)
    self.hidden_size = hidden_size
    self.num_channels = num_channels
    self.psd = psd
    self.top = layers.linear(num_channels, 'top', self.dtype_policy)
    self.bottom = (None if psd else
                   layers.linear(num_channels, 'bottom', self.dtype_policy))

  def build(self, input_shape=None):
    self.top.build((None, self.hidden_size))
    if self.bottom is not None:
      self.bottom.build((None, self.hidden_size))
    self.built = True

  def call(self, h_top, h_bottom=None):
    read_top = self.top(h_top)
    read_bottom = read_top if self.psd else self.bottom(h_bottom)
    batch = tf.cast(tf.shape(h_top)[0], read_top.dtype)
    outer = tf.einsum('big,bjg->ij', read_bottom, read_top)
    return outer / (batch * self.num_channels)

  def get_config(self):
    config = super().get_config()
    config.update(hidden_size=self.hidden_size,
                  num_channels=self.num_channels, psd=self.psd)
    return config


class WeightTerms(keras.layers.Layer):
  """Computes the 12 weight-update terms of one weight layer (spec §3.5).

  Args:
    hidden_size: H, channels of h.
    num_channels: G of every low-rank readout (paper: 4).
    **kwargs: Passed to ``keras.layers.Layer``.

  Call arguments:
    kernel: W^l [n_in, n_out].
    upper_h: h^l [B, n_out, H].
    lower_h: h^{l-1} [B, n_in, H].
    upper_activations: x^l [B, n_out].
    lower_activations: x^{l-1} [B, n_in].

  Returns:
    ``(terms, w_tilde)``: a dict from :data:`TERM_NAMES` to [n_in, n_out]
    and the column-normalised kernel w̃.
  """

  def __init__(self, hidden_size=64, num_channels=4, **kwargs):
    super().__init__(**kwargs)
    self.hidden_size = hidden_size
    self.num_channels = num_channels
    self.readouts = {
        name: LowRankReadout(hidden_size, num_channels, psd, name=name,
                             dtype=self.dtype_policy)
        for name, psd in READOUTS.items()}

  def build(self, input_shape=None):
    for readout in self.readouts.values():
      readout.build()
    self.built = True

  def _one_side(self, name, h_side, num_units):
    """U = R(h, h) for a ``symm`` or ``psd`` readout, divided by √n (§3.5)."""
    readout = self.readouts[name]
    if readout.psd:
      matrix = readout(h_side)
    else:
      matrix = symmetrize(readout(h_side, h_side))
    return matrix / tf.sqrt(tf.cast(num_units, matrix.dtype))

  def call(self, kernel, upper_h, lower_h, upper_activations,
           lower_activations):
    dtype = kernel.dtype
    n_in = tf.shape(kernel)[0]
    n_out = tf.shape(kernel)[1]
    batch = tf.cast(tf.shape(upper_activations)[0], dtype)
    w_tilde = normalized_kernel(kernel)
    terms = {'w_base': w_tilde,
             'large_decay': tf.square(w_tilde) * tf.sign(w_tilde)}

    upper_std = standardize_over_batch(upper_activations)
    lower_std = standardize_over_batch(lower_activations)
    correlation = (tf.matmul(upper_std, upper_std, transpose_a=True) / batch /
                   tf.sqrt(tf.cast(n_out, dtype)))
    decorrelation = tf.matmul(w_tilde, correlation)
    terms['decorr_x'] = decorrelation * tf.math.rsqrt(
        tf.reduce_mean(tf.square(decorrelation) + DECORRELATION_EPSILON))
    terms['hebb'] = -tf.matmul(lower_std, upper_std, transpose_a=True) / batch

    terms['0_order'] = self.readouts['weight_readout_0'](upper_h, lower_h)
    terms['1_order'] = w_tilde * self.readouts['weight_readout_1'](
        upper_h, lower_h)
    terms['rbf'] = tf.exp(-tf.square(w_tilde)) * self.readouts[
        'weight_readout_rbf'](upper_h, lower_h)

    square_kernel = tf.sqrt(1.0 + tf.square(w_tilde)) - 1.0
    sign = tf.sign(w_tilde)
    lower_symm = self._one_side('lin_lower_symm', lower_h, n_in)
    terms['lin_lower_symm'] = tf.matmul(lower_symm, w_tilde)
    terms['lin_upper_psd'] = tf.matmul(
        w_tilde, self._one_side('lin_upper_psd', upper_h, n_out))
    terms['lin_upper_symm'] = tf.matmul(
        w_tilde, self._one_side('lin_upper_symm', upper_h, n_out))
    terms['sqr_lower_symm'] = sign * tf.matmul(
        self._one_side('sqr_lower_symm', lower_h, n_in), square_kernel)
    terms['sqr_upper_symm'] = sign * tf.matmul(
        square_kernel, self._one_side('sqr_upper_symm', upper_h, n_out))
    return terms, w_tilde

  def get_config(self):
    config = super().get_config()
    config.update(hidden_size=self.hidden_size,
                  num_channels=self.num_channels)
    return config
