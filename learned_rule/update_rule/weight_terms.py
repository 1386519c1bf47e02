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

from learned_rule.update_rule import layers

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

# The batched readouts (WeightTerms.readout_matrices): which learned map
# reads which side. Pair readouts R(h^l, h^{l-1}) apply their top map to the
# upper side and their bottom map to the lower side; one-sided readouts
# R(h, h) apply both maps to one side, a psd one its top map twice. Each
# side's list holds the pair readouts' maps, then the one-sided readouts'
# column maps (top), then the row maps (bottom) of those that are not psd.
PAIR_READOUTS = ('weight_readout_0', 'weight_readout_1', 'weight_readout_rbf')
UPPER_ONE_SIDED = ('lin_upper_psd', 'lin_upper_symm', 'sqr_upper_symm')
LOWER_ONE_SIDED = ('lin_lower_symm', 'sqr_lower_symm')


def _side_maps_of(one_sided, pair_side):
  """(readout, map) pairs of one side, and the index of each one-sided
  readout's row map among them (its column map's, if psd)."""
  maps = [(name, pair_side) for name in PAIR_READOUTS]
  maps += [(name, 'top') for name in one_sided]
  rows = []
  for offset, name in enumerate(one_sided):
    if READOUTS[name]:
      rows.append(len(PAIR_READOUTS) + offset)
    else:
      rows.append(len(maps))
      maps.append((name, 'bottom'))
  return tuple(maps), rows


UPPER_MAPS, UPPER_ROWS = _side_maps_of(UPPER_ONE_SIDED, 'top')
LOWER_MAPS, LOWER_ROWS = _side_maps_of(LOWER_ONE_SIDED, 'bottom')


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
  """R(h_top, h_bottom)_{ij} = (1/G)(1/B) Σ_{g,b} r_bot[i,b,g] r_top[j,b,g].

  ``top`` and ``bottom`` are learned linear maps H → G. In ``psd`` mode the
  top map serves both sides, which makes R positive semi-definite.

  Args:
    hidden_size: H.
    num_channels: G (``num_grad_channels``, paper: 4).
    psd: Use one map on both sides.
    **kwargs: Passed to ``keras.layers.Layer``.

  Call arguments:
    h_top: [n_top, B, H].
    h_bottom: [n_bottom, B, H]; ignored in ``psd`` mode.

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
    batch = tf.cast(tf.shape(h_top)[1], read_top.dtype)
    outer = tf.einsum('ibg,jbg->ij', read_bottom, read_top)
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
    upper_h: h^l [n_out, B, H].
    lower_h: h^{l-1} [n_in, B, H].
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

  def _side_maps(self, maps):
    """The kernels [H, M·G] and biases [M·G] of ``maps``, concatenated."""
    dense = [getattr(self.readouts[name], side) for name, side in maps]
    return (tf.concat([tf.convert_to_tensor(d.kernel) for d in dense], -1),
            tf.concat([tf.convert_to_tensor(d.bias) for d in dense], -1))

  def _read(self, h, maps):
    """All ``maps`` of one side in one matmul: h [n, B, H] → [M, n, B·G]."""
    kernel, bias = self._side_maps(maps)
    units, batch = tf.shape(h)[0], tf.shape(h)[1]
    reads = tf.reshape(
        tf.matmul(tf.reshape(h, [-1, self.hidden_size]), kernel) + bias,
        [units, batch, len(maps), self.num_channels])
    return tf.reshape(tf.transpose(reads, [2, 0, 1, 3]),
                      [len(maps), units, batch * self.num_channels])

  def _outer(self, rows, columns, batch):
    """R = (1/(B·G)) rows · columnsᵀ per map, [M, n_rows, n_columns]."""
    return tf.matmul(rows, columns, transpose_b=True) / (
        batch * self.num_channels)

  def readout_matrices(self, upper_h, lower_h, n_in, n_out):
    """Every readout of :data:`READOUTS`, in two matmuls and three outer-
    product batches: pair readouts [n_in, n_out], and the one-sided ones
    divided by √n, ``symm`` ones symmetrised (spec §3.5).

    Equal to calling each :class:`LowRankReadout`, with each side's maps
    applied at once.
    """
    batch = tf.cast(tf.shape(upper_h)[1], upper_h.dtype)
    upper = self._read(upper_h, UPPER_MAPS)
    lower = self._read(lower_h, LOWER_MAPS)
    pairs = self._outer(lower[:len(PAIR_READOUTS)],
                        upper[:len(PAIR_READOUTS)], batch)
    out = dict(zip(PAIR_READOUTS, tf.unstack(pairs)))
    first = len(PAIR_READOUTS)
    for names, reads, rows, units in (
        (UPPER_ONE_SIDED, upper, UPPER_ROWS, n_out),
        (LOWER_ONE_SIDED, lower, LOWER_ROWS, n_in)):
      matrices = self._outer(tf.gather(reads, rows),
                             reads[first:first + len(names)], batch)
      for name, matrix in zip(names, tf.unstack(matrices)):
        if not self.readouts[name].psd:
          matrix = symmetrize(matrix)
        out[name] = matrix / tf.sqrt(tf.cast(units, matrix.dtype))
    return out

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

    readout = self.readout_matrices(upper_h, lower_h, n_in, n_out)
    terms['0_order'] = readout['weight_readout_0']
    terms['1_order'] = w_tilde * readout['weight_readout_1']
    terms['rbf'] = tf.exp(-tf.square(w_tilde)) * readout['weight_readout_rbf']

    square_kernel = tf.sqrt(1.0 + tf.square(w_tilde)) - 1.0
    sign = tf.sign(w_tilde)
    terms['lin_lower_symm'] = tf.matmul(readout['lin_lower_symm'], w_tilde)
    terms['lin_upper_psd'] = tf.matmul(w_tilde, readout['lin_upper_psd'])
    terms['lin_upper_symm'] = tf.matmul(w_tilde, readout['lin_upper_symm'])
    terms['sqr_lower_symm'] = sign * tf.matmul(readout['sqr_lower_symm'],
                                               square_kernel)
    terms['sqr_upper_symm'] = sign * tf.matmul(square_kernel,
                                               readout['sqr_upper_symm'])
    return terms, w_tilde

  def get_config(self):
    config = super().get_config()
    config.update(hidden_size=self.hidden_size,
                  num_channels=self.num_channels)
    return config
