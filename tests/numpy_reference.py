"""An independent float64 NumPy reference of the learned update rule.

Written from ``paper_spec.md`` (§2.2 and §3), not from the TensorFlow code,
so that tests can compare the two on random inputs. Everything here is plain
NumPy in float64; parameters are passed in as arrays.

Parameter layouts (all NumPy arrays):

* dense / linear map: ``(kernel [in, out], bias [out])``.
* conv1d: ``(kernel [k, in, out], bias [out])`` (the Keras layout, §3.10).
* conv block: ``(conv, bn_offset)``; applied as conv → batch norm → ReLU.
* low-rank readout: ``(top, bottom)`` dense pairs; ``bottom`` is None in psd
  mode (§3.5).
* update network (§3.3)::

    {'input_offset': [4 + D],
     'layers': [{'conv': conv, 'offset': [H],
                 'unit': [conv block, conv block]}, ...]}

  ``layers[0]`` is the first conv (45 → H at paper sizes) with its
  ConcatUnitConv; ``layers[1:]`` are the ``compute_h_layers`` repeats.
* top signal (§3.2)::

    {'input': conv block, 'mixing': [conv block, conv block],
     'blocks': [conv block, ...], 'output': conv}

* whole rule θ::

    {'top_signal': ..., 'update_network': ..., 'projection': dense,
     'readouts': {name: readout}, 'coefficients': [12], 'mixture_bias': float,
     'bias_readout': dense}
"""

import math

import numpy as np

# §3.10: every batch norm inside θ.
THETA_BN_EPSILON = 1e-3
# §2.2: the base model's batch norm.
BASE_BN_EPSILON = 1e-6
# §3.5: ε of the per-column RMS giving w̃.
W_TILDE_EPSILON = 1e-6
# §3.5 decorr_x / hebb: ε of the per-unit standardisation.
STANDARDIZE_EPSILON = 1e-6
# §3.5 decorr_x: ε inside the whole-matrix RMS.
DECORR_EPSILON = 1e-8
# §3.6: soft normalisation ε and the anti-collapse scale.
MERGE_EPSILON = 1.0
ANTI_COLLAPSE = 1.0 / 7.0
# §3.7: ε of the bias-change normalisation.
BIAS_EPSILON = 0.5
# §3.4: ε of the RMS over the D channels.
SIGNAL_EPSILON = 1e-6
# §3.3 item 4: epsilons of the weight statistics and their global scale.
STAT_RMS_EPSILON = 1e-6
STAT_STD_EPSILON = 1e-8
STAT_SCALE_EPSILON = 1e-6
# §3.9: α of the rolling step.
STEP_SIZE = 1e-4

# §3.5: the 12 terms in sorted key order (order of the mixture coefficients).
TERM_NAMES = tuple(sorted([
    'w_base', 'large_decay', 'decorr_x', 'hebb', '0_order', 'rbf', '1_order',
    'lin_upper_symm', 'lin_upper_psd', 'lin_lower_symm', 'sqr_upper_symm',
    'sqr_lower_symm']))


def _f64(value):
  return np.asarray(value, dtype=np.float64)


def relu(x):
  """max(x, 0)."""
  return np.maximum(_f64(x), 0.0)


def sigmoid(x):
  """1 / (1 + exp(-x))."""
  return 1.0 / (1.0 + np.exp(-_f64(x)))


# -- Library semantics (§3.10) ------------------------------------------------


def batch_norm(x, offset, epsilon=THETA_BN_EPSILON):
  """Sonnet-v1 BN with batch statistics and offset only (§3.10).

  Statistics per last-axis channel over all other axes, biased variance:
  (x − mean)/sqrt(var + ε) + β.
  """
  x = _f64(x)
  axes = tuple(range(x.ndim - 1))
  mean = x.mean(axis=axes, keepdims=True)
  var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
  return (x - mean) / np.sqrt(var + epsilon) + _f64(offset)


def conv1d(x, kernel, bias):
  """1-D conv, NWC, stride 1, SAME padding, with bias (§3.10).

  Args:
    x: [N, L, C_in].
    kernel: [k, C_in, C_out] (cross-correlation, like Keras / Sonnet).
    bias: [C_out].

  Returns:
    [N, L, C_out].
  """
  x = _f64(x)
  kernel = _f64(kernel)
  size = kernel.shape[0]
  before = (size - 1) // 2
  after = size - 1 - before
  padded = np.pad(x, ((0, 0), (before, after), (0, 0)))
  length = x.shape[1]
  out = np.zeros(x.shape[:2] + (kernel.shape[2],))
  for tap in range(size):
    out += padded[:, tap:tap + length, :] @ kernel[tap]
  return out + _f64(bias)


def dense(x, kernel, bias):
  """Linear map over the last axis: x K + b (§3.10 Linear)."""
  return _f64(x) @ _f64(kernel) + _f64(bias)


def conv_block(x, block):
  """conv → BN (batch statistics) → ReLU."""
  conv, offset = block
  return relu(batch_norm(conv1d(x, *conv), offset))


# -- Base model (§2.2, §2.3) ---------------------------------------------------


def base_forward(inputs, permutation, kernels, offsets,
                 activation=relu, epsilon=BASE_BN_EPSILON):
  """Forward pass of the base MLP (§2.2, §2.3).

  x^0 = flattened input permuted along features; per layer
  a = x W (no bias), z = (a − mean_B)/sqrt(var_B + 1e-6) + b, x = act(z).

  Returns:
    (zs, xs): lists of length L and L + 1 (xs[0] = x^0).
  """
  inputs = _f64(inputs)
  x = inputs.reshape(inputs.shape[0], -1)[:, np.asarray(permutation)]
  zs, xs = [], [x]
  for kernel, offset in zip(kernels, offsets):
    a = x @ _f64(kernel)
    mean = a.mean(axis=0)
    var = ((a - mean) ** 2).mean(axis=0)
    z = (a - mean) / np.sqrt(var + epsilon) + _f64(offset)
    x = activation(z)
    zs.append(z)
    xs.append(x)
  return zs, xs


# -- Weight-update terms (§3.5) ------------------------------------------------


def w_tilde(kernel):
  """w̃_{:,j} = W_{:,j} / sqrt(mean_i W_ij² + 1e-6) (§3.5)."""
  kernel = _f64(kernel)
  return kernel / np.sqrt((kernel ** 2).mean(axis=0) + W_TILDE_EPSILON)


def standardize(x):
  """Per-unit centring over the batch, divided by sqrt(mean sq + 1e-6) (§3.5).

  The spec writes "divide by RMS+1e-6"; the ε is taken inside the square
  root, as in the released code that the spec transcribes.
  """
  x = _f64(x)
  centred = x - x.mean(axis=0)
  return centred / np.sqrt((centred ** 2).mean(axis=0) + STANDARDIZE_EPSILON)


def low_rank_readout(h_top, h_bottom, top, bottom=None):
  """R(h_a, h_b)_ij = (1/G)(1/B) Σ_{g,b} r_bot[g,b,i] r_top[g,b,j] (§3.5).

  Args:
    h_top: [B, n_top, H], read by the ``top`` map.
    h_bottom: [B, n_bottom, H], read by ``bottom``; ignored in psd mode.
    top: dense pair H → G.
    bottom: dense pair H → G, or None for psd mode (top map on both sides).

  Returns:
    [n_bottom, n_top] ([n_top, n_top] in psd mode).
  """
  r_top = dense(h_top, *top)  # [B, n_top, G]
  if bottom is None:
    r_bottom = r_top
  else:
    r_bottom = dense(h_bottom, *bottom)
  batch, _, channels = r_top.shape
  total = np.zeros((r_bottom.shape[1], r_top.shape[1]))
  for b in range(batch):
    for g in range(channels):
      total += np.outer(r_bottom[b, :, g], r_top[b, :, g])
  return total / (batch * channels)


def _symmetric_one_side(h, readout):
  """(U + Uᵀ)/√2 with zero diagonal, /√n, U = R(h, h) (§3.5 ``symm``)."""
  top, bottom = readout
  u = low_rank_readout(h, h, top, bottom)
  u = (u + u.T) / math.sqrt(2.0)
  np.fill_diagonal(u, 0.0)
  return u / math.sqrt(u.shape[0])


def _square_weight(wt):
  """sqrt(1 + w̃²) − 1, the weight argument of the ``sqr`` terms (§3.5)."""
  return np.sqrt(1.0 + wt ** 2) - 1.0


def term_0_order(readout, upper_h, lower_h):
  """#1 ``0_order``: R_0(h^l, h^{l−1}) (§3.5)."""
  return low_rank_readout(upper_h, lower_h, *readout)


def term_1_order(wt, readout, upper_h, lower_h):
  """#2 ``1_order``: w̃ ⊙ R_1(h^l, h^{l−1}) (§3.5)."""
  return wt * low_rank_readout(upper_h, lower_h, *readout)


def term_decorr_x(wt, upper_x):
  """#3 ``decorr_x``: w̃ sᵀs/B/√n_out, rescaled to unit RMS (§3.5)."""
  s = standardize(upper_x)
  batch, n_out = s.shape
  corr = s.T @ s / batch / math.sqrt(n_out)
  term = wt @ corr
  return term / np.sqrt(np.mean(term ** 2 + DECORR_EPSILON))


def term_hebb(upper_x, lower_x):
  """#4 ``hebb``: −(s_lowerᵀ s_upper)/B (§3.5)."""
  s_lower = standardize(lower_x)
  s_upper = standardize(upper_x)
  return -(s_lower.T @ s_upper) / s_lower.shape[0]


def term_large_decay(wt):
  """#5 ``large_decay``: w̃² ⊙ sign(w̃) (§3.5)."""
  return wt ** 2 * np.sign(wt)


def term_lin_lower_symm(wt, readout, lower_h):
  """#6 ``lin_lower_symm``: U w̃, U from h^{l−1}, symm structure (§3.5)."""
  return _symmetric_one_side(lower_h, readout) @ wt


def term_lin_upper_psd(wt, readout, upper_h):
  """#7 ``lin_upper_psd``: w̃ U, U = R_psd(h^l)/√n_out (§3.5)."""
  top, bottom = readout
  assert bottom is None, 'lin_upper_psd uses the top map only.'
  u = low_rank_readout(upper_h, None, top, None)
  return wt @ (u / math.sqrt(u.shape[0]))


def term_lin_upper_symm(wt, readout, upper_h):
  """#8 ``lin_upper_symm``: w̃ U, U from h^l, symm structure (§3.5)."""
  return wt @ _symmetric_one_side(upper_h, readout)


def term_rbf(wt, readout, upper_h, lower_h):
  """#9 ``rbf``: exp(−w̃²) ⊙ R_rbf(h^l, h^{l−1}) (§3.5)."""
  return np.exp(-wt ** 2) * low_rank_readout(upper_h, lower_h, *readout)


def term_sqr_lower_symm(wt, readout, lower_h):
  """#10 ``sqr_lower_symm``: sign(w̃) ⊙ (U (sqrt(1+w̃²)−1)) (§3.5)."""
  return np.sign(wt) * (_symmetric_one_side(lower_h, readout) @
                        _square_weight(wt))


def term_sqr_upper_symm(wt, readout, upper_h):
  """#11 ``sqr_upper_symm``: sign(w̃) ⊙ ((sqrt(1+w̃²)−1) U) (§3.5)."""
  return np.sign(wt) * (_square_weight(wt) @
                        _symmetric_one_side(upper_h, readout))


def term_w_base(wt):
  """#12 ``w_base``: w̃ itself (§3.5)."""
  return wt.copy()


def weight_terms(kernel, upper_h, lower_h, upper_x, lower_x, readouts):
  """All 12 terms of §3.5 for W^l [n_in, n_out].

  Args:
    kernel: W^l.
    upper_h: h^l [B, n_out, H].
    lower_h: h^{l−1} [B, n_in, H].
    upper_x: x^l [B, n_out].
    lower_x: x^{l−1} [B, n_in].
    readouts: dict readout name → (top, bottom) dense pairs; names
      ``weight_readout_0``, ``weight_readout_1``, ``weight_readout_rbf``,
      ``lin_lower_symm``, ``lin_upper_psd``, ``lin_upper_symm``,
      ``sqr_lower_symm``, ``sqr_upper_symm``.

  Returns:
    (dict term name → [n_in, n_out], w̃).
  """
  wt = w_tilde(kernel)
  upper_h, lower_h = _f64(upper_h), _f64(lower_h)
  terms = {
      '0_order': term_0_order(readouts['weight_readout_0'], upper_h, lower_h),
      '1_order': term_1_order(wt, readouts['weight_readout_1'], upper_h,
                              lower_h),
      'decorr_x': term_decorr_x(wt, upper_x),
      'hebb': term_hebb(upper_x, lower_x),
      'large_decay': term_large_decay(wt),
      'lin_lower_symm': term_lin_lower_symm(
          wt, readouts['lin_lower_symm'], lower_h),
      'lin_upper_psd': term_lin_upper_psd(
          wt, readouts['lin_upper_psd'], upper_h),
      'lin_upper_symm': term_lin_upper_symm(
          wt, readouts['lin_upper_symm'], upper_h),
      'rbf': term_rbf(wt, readouts['weight_readout_rbf'], upper_h, lower_h),
      'sqr_lower_symm': term_sqr_lower_symm(
          wt, readouts['sqr_lower_symm'], lower_h),
      'sqr_upper_symm': term_sqr_upper_symm(
          wt, readouts['sqr_upper_symm'], upper_h),
      'w_base': term_w_base(wt),
  }
  return terms, wt


# -- Merge (§3.6) and bias rule (§3.7) -----------------------------------------


def soft_normalize(matrix, epsilon=MERGE_EPSILON):
  """T_ij / sqrt(ε + mean_i T_ij²) per column j (§3.6 steps 1 and 4)."""
  matrix = _f64(matrix)
  return matrix / np.sqrt(epsilon + (matrix ** 2).mean(axis=0))


def merge(terms, wt, coefficients, bias, epsilon=MERGE_EPSILON,
          anti_collapse=ANTI_COLLAPSE):
  """The 12 terms → ΔW (§3.6).

  Args:
    terms: dict term name → [n_in, n_out].
    wt: w̃ [n_in, n_out].
    coefficients: [12] mixture coefficients in :data:`TERM_NAMES` order.
    bias: scalar bias of the mixture.
    epsilon: ε of the soft normalisations (1.0).
    anti_collapse: scale of the −w̃ term (1/7).

  Returns:
    ΔW [n_in, n_out].
  """
  count = len(TERM_NAMES)
  wt = _f64(wt)
  mixed = np.full(wt.shape, float(bias))
  for coefficient, name in zip(_f64(coefficients), TERM_NAMES):
    mixed = mixed + coefficient * soft_normalize(terms[name], epsilon)
  change = mixed / count
  shrink = max(float(np.mean(change * wt)), 0.0)
  change = change - shrink * wt
  change = soft_normalize(change / math.sqrt(count), epsilon)
  return change - anti_collapse * wt


def bias_rule(h, readout, epsilon=BIAS_EPSILON):
  """h^l [B, U, H] → Δb^l [U] (§3.7).

  g = mean_B Linear(h → 1); if mean_U g < 0 subtract it; then
  g / sqrt(ε + mean g²).
  """
  g = dense(h, *readout)[..., 0].mean(axis=0)
  mean = g.mean()
  if mean < 0:
    g = g - mean
  return g / np.sqrt(epsilon + np.mean(g ** 2))


# -- Downward signal (§3.4) ----------------------------------------------------


def gated_signal(signal, z, h, projection):
  """δ^l = d^l ⊙ sigmoid(z^l) + Linear(h^l → D), [B, n_l, D] (§3.4)."""
  return _f64(signal) * sigmoid(z)[:, :, None] + dense(h, *projection)


def downward_signal(signal, z, h, feedback_kernel, projection):
  """d^{l−1} = RMSnorm_D(δ^l (V^l)ᵀ), [B, n_{l−1}, D] (§3.4)."""
  delta = gated_signal(signal, z, h, projection)
  v = _f64(feedback_kernel)  # [n_{l-1}, n_l]
  below = np.stack([v @ delta[b] for b in range(delta.shape[0])])
  return below / np.sqrt((below ** 2).mean(axis=-1, keepdims=True) +
                         SIGNAL_EPSILON)


# -- Update network (§3.3) -----------------------------------------------------


def weight_statistics(kernel, axis):
  """[mean|w|, sqrt(mean w² + 1e-6), mean w, sqrt(var w + 1e-8)] (§3.3)."""
  kernel = _f64(kernel)
  mean = kernel.mean(axis=axis)
  var = ((kernel - np.expand_dims(mean, axis)) ** 2).mean(axis=axis)
  return [np.abs(kernel).mean(axis=axis),
          np.sqrt((kernel ** 2).mean(axis=axis) + STAT_RMS_EPSILON),
          mean,
          np.sqrt(var + STAT_STD_EPSILON)]


def neuron_weight_features(kernel_below, kernel_above):
  """The 8 weight-statistic channels [U, 8], divided by their RMS (§3.3).

  Incoming-column statistics of W_below (over its rows), then outgoing-row
  statistics of W_above (over its columns); the available four are
  duplicated at the input and top layers. Divided by
  sqrt(mean over all entries of the square + 1e-6).
  """
  stats = []
  if kernel_below is not None:
    stats.extend(weight_statistics(kernel_below, 0))
  if kernel_above is not None:
    stats.extend(weight_statistics(kernel_above, 1))
  if kernel_below is None or kernel_above is None:
    stats = stats + stats
  features = np.stack(stats, axis=-1)
  return features / np.sqrt(np.mean(features ** 2) + STAT_SCALE_EPSILON)


def unit_id(num_units):
  """[sin θ_u, cos θ_u], θ = linspace(0, 4π, U) (§3.3 item 2), [U, 2]."""
  theta = np.linspace(0.0, 4.0 * math.pi, num_units)
  return np.stack([np.sin(theta), np.cos(theta)], axis=-1)


def unit_conv(net, blocks):
  """ConcatUnitConv, add mode (§3.3 layer 2) on [U, B, C].

  Units become the length axis ([B, U, C]); two conv blocks; back to
  [U, B, C] and added to the input.
  """
  mixed = net.transpose(1, 0, 2)
  for block in blocks:
    mixed = conv_block(mixed, block)
  return net + mixed.transpose(1, 0, 2)


def update_network(x, z, signal, offset, kernel_below, kernel_above, params):
  """Per-neuron update network → h [B, U, H] (§3.3).

  Args:
    x: [B, U] activations.
    z: [B, U] pre-activations (x at the input layer).
    signal: d [B, U, D].
    offset: b [U] (zeros at the input layer).
    kernel_below: W^l [n_{l−1}, U] or None.
    kernel_above: W^{l+1} [U, n_{l+1}] or None.
    params: see the module docstring.

  Returns:
    h [B, U, H].
  """
  x, z, signal = _f64(x), _f64(z), _f64(signal)
  batch, units = x.shape

  def per_unit(features):  # [U, C] → [U, B, C]
    return np.broadcast_to(features[:, None, :],
                           (units, batch, features.shape[-1]))

  local = np.concatenate([
      x.T[:, :, None], z.T[:, :, None], per_unit(unit_id(units)),
      signal.transpose(1, 0, 2)], axis=-1)
  normalized = batch_norm(local, params['input_offset'])
  net = np.concatenate([
      per_unit(neuron_weight_features(kernel_below, kernel_above)),
      per_unit(_f64(offset)[:, None]),
      normalized], axis=-1)
  for layer in params['layers']:
    net = conv_block(net, (layer['conv'], layer['offset']))
    net = unit_conv(net, layer['unit'])
  return net.transpose(1, 0, 2)


# -- Top signal (§3.2) ---------------------------------------------------------


def top_signal(top_x, params):
  """x^L [B, C] → d^L [B, C, D] (§3.2).

  [C, B, 1] → conv block (k5) → [ch, B, C] → two unit-mixing conv blocks
  (k3, C → C) → [C, B, ch] → conv blocks (k3) → final conv (k3, → D).
  """
  net = _f64(top_x).T[:, :, None]
  net = conv_block(net, params['input'])
  net = net.transpose(2, 1, 0)
  for block in params['mixing']:
    net = conv_block(net, block)
  net = net.transpose(2, 1, 0)
  for block in params['blocks']:
    net = conv_block(net, block)
  net = conv1d(net, *params['output'])
  return net.transpose(1, 0, 2)


# -- One rule step (§3.1, §3.8, §3.9) ------------------------------------------


def compute_h(theta, kernels, feedback_kernels, offsets, zs, xs):
  """Top signal and update network from the top down (§3.1).

  Returns:
    list h^0..h^L.
  """
  depth = len(kernels)
  signal = top_signal(xs[-1], theta['top_signal'])
  hs = [None] * (depth + 1)
  for level in range(depth, -1, -1):
    if level >= 1:
      z = zs[level - 1]
      offset = offsets[level - 1]
      below = kernels[level - 1]
    else:
      z = xs[0]
      offset = np.zeros(xs[0].shape[1])
      below = None
    above = kernels[level] if level < depth else None
    hs[level] = update_network(xs[level], z, signal, offset, below, above,
                               theta['update_network'])
    if level >= 1:
      signal = downward_signal(signal, z, hs[level],
                               feedback_kernels[level - 1],
                               theta['projection'])
  return hs


def layer_changes(theta, kernel, upper_h, lower_h, upper_x, lower_x):
  """(ΔW, Δb) of one weight layer (§3.5–§3.7)."""
  terms, wt = weight_terms(kernel, upper_h, lower_h, upper_x, lower_x,
                           theta['readouts'])
  change_w = merge(terms, wt, theta['coefficients'], theta['mixture_bias'])
  return change_w, bias_rule(upper_h, theta['bias_readout'])


def rolling_step(value, change, step_size):
  """P ← (1 − α) P − α ΔP (§3.9)."""
  return (1.0 - step_size) * _f64(value) - step_size * _f64(change)


def rule_step(theta, inputs, permutation, kernels, feedback_kernels, offsets,
              step_size=STEP_SIZE):
  """φ_t → φ_{t+1} on one minibatch, forward pass included (§3.1).

  V^l gets the same ΔW^l as W^l (§3.8); all changes come from φ_t and are
  applied together with the rolling step (§3.9).

  Returns:
    dict with 'kernels', 'feedback_kernels', 'offsets' (new φ), and the
    intermediate 'zs', 'xs', 'hs', 'kernel_changes', 'offset_changes'.
  """
  zs, xs = base_forward(inputs, permutation, kernels, offsets)
  hs = compute_h(theta, kernels, feedback_kernels, offsets, zs, xs)
  result = {'zs': zs, 'xs': xs, 'hs': hs, 'kernels': [],
            'feedback_kernels': [], 'offsets': [], 'kernel_changes': [],
            'offset_changes': []}
  for index, kernel in enumerate(kernels):
    level = index + 1
    change_w, change_b = layer_changes(theta, kernel, hs[level],
                                       hs[level - 1], xs[level],
                                       xs[level - 1])
    result['kernel_changes'].append(change_w)
    result['offset_changes'].append(change_b)
    result['kernels'].append(rolling_step(kernel, change_w, step_size))
    result['feedback_kernels'].append(
        rolling_step(feedback_kernels[index], change_w, step_size))
    result['offsets'].append(
        rolling_step(offsets[index], change_b, step_size))
  return result
