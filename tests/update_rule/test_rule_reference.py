"""Compares the TF rule with the independent NumPy reference (float64).

Every Keras layer is built in float64 and all of its weights are re-drawn at
random, so that default initial values (e.g. the 0.1 mixture coefficients)
cannot hide a bug; results must agree to ~1e-10 relative.
"""

import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import functools
import itertools
import math
import zlib

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from learned_rule.model import base_model
from learned_rule.update_rule import bias_rule as bias_rule_lib
from learned_rule.update_rule import config as config_lib
from learned_rule.update_rule import downward_signal as downward_signal_lib
from learned_rule.update_rule import merge as merge_lib
from learned_rule.update_rule import rule as rule_lib
from learned_rule.update_rule import top_signal as top_signal_lib
from learned_rule.update_rule import update_network as update_network_lib
from learned_rule.update_rule import weight_terms as weight_terms_lib
from tests import numpy_reference as ref

DTYPE = 'float64'
HIDDEN = 6
DELTA = 5
CHANNELS = 3
RTOL = 1e-10

# (n_in, n_out) and batch sizes of the per-piece tests.
LAYER_SHAPES = ((5, 3), (7, 7), (12, 4))
BATCHES = (4, 9)
SHAPES = tuple(dict(n_in=n_in, n_out=n_out, batch=batch)
               for (n_in, n_out), batch in itertools.product(LAYER_SHAPES,
                                                             BATCHES))


def _small_config(**overrides):
  values = dict(top_width=4, hidden_size=HIDDEN, delta_dim=DELTA,
                num_grad_channels=CHANNELS, top_signal_channels=7)
  values.update(overrides)
  return config_lib.RuleConfig(**values)


def _rng(*keys):
  """A generator seeded deterministically from the test's parameters."""
  return np.random.default_rng(zlib.crc32(repr(keys).encode()))


def _randomize(layer, rng, scale=0.7):
  """Re-draws every weight of ``layer`` (and its sublayers) at random."""
  assert layer.weights, 'layer has no weights to randomize'
  for variable in layer.weights:
    variable.assign(scale * rng.normal(size=tuple(variable.shape)))


def _kernel(rng, n_in, n_out):
  """A random W whose columns have RMS from ~3e-4 to ~3.

  Columns of RMS ~1e-3 make the 1e-6 in w̃ (and the base model's BN ε)
  matter.
  """
  scales = 10.0 ** rng.uniform(-3.5, 0.5, size=n_out)
  return rng.normal(size=(n_in, n_out)) * scales


def _activations(rng, batch, units, dead=True):
  """Random post-ReLU-like activations, optionally with one dead unit."""
  x = np.maximum(rng.normal(size=(batch, units)) + 0.3, 0.0)
  if dead and units > 1:
    x[:, 0] = 0.0
  return x


def _t(value):
  return tf.constant(np.asarray(value, dtype=np.float64))


def _np(value):
  if hasattr(value, 'numpy'):  # tf.Tensor or keras.Variable
    value = value.numpy()
  return np.array(value, dtype=np.float64)


def _units_first(value):
  """[B, U, C] (the reference's layout) ↔ [U, B, C] (the rule's, §3.3)."""
  return np.swapaxes(np.asarray(value), 0, 1)


def _assert_close(actual, expected, rtol=RTOL):
  """|a − e| <= rtol·(|e| + max|e|), i.e. ~rtol relative to the scale."""
  actual = np.asarray(actual, dtype=np.float64)
  expected = np.asarray(expected, dtype=np.float64)
  assert actual.shape == expected.shape, (actual.shape, expected.shape)
  assert np.all(np.isfinite(expected)), 'reference is not finite'
  scale = max(float(np.max(np.abs(expected))), 1e-300)
  np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


# -- Pulling θ out of the Keras layers. ----------------------------------------


def _dense(layer):
  return _np(layer.kernel), _np(layer.bias)


def _conv(layer):
  return _np(layer.kernel), _np(layer.bias)


def _block(pair):
  conv, norm = pair
  return _conv(conv), _np(norm.offset)


def _readout(readout):
  return (_dense(readout.top),
          None if readout.bottom is None else _dense(readout.bottom))


def _readouts(terms_layer):
  return {name: _readout(r) for name, r in terms_layer.readouts.items()}


def _update_network_params(net):
  layers = []
  for conv, norm, unit in zip(net.convs, net.norms, net.unit_convs):
    layers.append({
        'conv': _conv(conv), 'offset': _np(norm.offset),
        'unit': [_block(pair) for pair in zip(unit.convs, unit.norms)]})
  return {'input_offset': _np(net.input_norm.offset), 'layers': layers}


def _top_signal_params(top):
  return {'input': _block(top.input_block),
          'mixing': [_block(b) for b in top.unit_mixing_blocks],
          'blocks': [_block(b) for b in top.blocks],
          'output': _conv(top.output_conv)}


def _theta(rule):
  return {
      'top_signal': _top_signal_params(rule.top_signal),
      'update_network': _update_network_params(rule.update_network),
      'projection': _dense(rule.downward_signal.projection),
      'readouts': _readouts(rule.weight_terms),
      'coefficients': _np(rule.weight_merge.mixture.kernel)[:, 0],
      'mixture_bias': float(_np(rule.weight_merge.mixture.bias)[0]),
      'bias_readout': _dense(rule.bias_rule.readout),
  }


def _closed_form_w_base_only(kernel, c):
  """ΔW of §3.6 when only the 'w_base' coefficient (= c) is non-zero.

  Derived by hand: with m_j = mean_i w̃_ij² and s_j = 1/sqrt(1 + m_j), the
  mixture is (c/12) s_j w̃_ij; the length constraint removes
  p⁺ = max((c/12) mean_j s_j m_j, 0) times w̃; dividing by √12 gives
  v_j w̃_ij with v_j = ((c/12) s_j − p⁺)/√12, whose soft norm is
  v_j w̃_ij / sqrt(1 + v_j² m_j); finally − w̃/7.
  """
  kernel = np.asarray(kernel, dtype=np.float64)
  column_ms = np.mean(kernel ** 2, axis=0)
  wt = kernel / np.sqrt(column_ms + 1e-6)
  m = column_ms / (column_ms + 1e-6)  # = mean_i w̃_ij²
  s = 1.0 / np.sqrt(1.0 + m)
  p = max(c / 12.0 * np.mean(s * m), 0.0)
  v = (c / 12.0 * s - p) / math.sqrt(12.0)
  return (v / np.sqrt(1.0 + v ** 2 * m) - 1.0 / 7.0) * wt


@functools.lru_cache(maxsize=None)
def _terms_case(n_in, n_out, batch):
  """TF and reference terms for one shape, shared by the 12 term tests."""
  rng = _rng('term', n_in, n_out, batch)
  layer = weight_terms_lib.WeightTerms(HIDDEN, CHANNELS, dtype=DTYPE)
  layer.build()
  _randomize(layer, rng)
  kernel = _kernel(rng, n_in, n_out)
  upper_h = rng.normal(size=(batch, n_out, HIDDEN))
  lower_h = rng.normal(size=(batch, n_in, HIDDEN))
  upper_x = _activations(rng, batch, n_out)
  lower_x = _activations(rng, batch, n_in)
  terms, w_tilde = layer(_t(kernel), _t(_units_first(upper_h)),
                         _t(_units_first(lower_h)), _t(upper_x), _t(lower_x))
  expected, expected_wt = ref.weight_terms(
      kernel, upper_h, lower_h, upper_x, lower_x, _readouts(layer))
  actual = {name: _np(value) for name, value in terms.items()}
  return actual, _np(w_tilde), expected, expected_wt


class LibrarySemanticsTest(tf.test.TestCase, parameterized.TestCase):
  """The building blocks (§3.10) the reference relies on."""

  @parameterized.parameters(
      dict(shape=(4, 9, 3)), dict(shape=(7, 4, 5)), dict(shape=(3, 12, 1)))
  def test_batch_stat_norm(self, shape):
    from learned_rule.update_rule import layers  # pylint: disable=g-import-not-at-top
    rng = _rng('bn', shape)
    norm = layers.BatchStatNorm(dtype=DTYPE)
    norm.build(shape)
    _randomize(norm, rng)
    x = rng.normal(size=shape) * rng.uniform(0.01, 3.0, size=shape[-1])
    x[..., 0] *= 1e-3  # variance ≪ ε: the ε must be 1e-3 and inside sqrt
    _assert_close(norm(_t(x)), ref.batch_norm(x, _np(norm.offset)))

  @parameterized.parameters(
      dict(kernel=3, length=4, c_in=5, c_out=2),
      dict(kernel=5, length=4, c_in=1, c_out=7),
      dict(kernel=3, length=9, c_in=18, c_out=6),
      dict(kernel=5, length=9, c_in=2, c_out=3))
  def test_conv1d(self, kernel, length, c_in, c_out):
    from learned_rule.update_rule import layers  # pylint: disable=g-import-not-at-top
    rng = _rng('conv', kernel, length, c_in)
    conv = layers.conv1d(c_out, kernel, 'conv', DTYPE)
    conv.build((None, None, c_in))
    _randomize(conv, rng)
    x = rng.normal(size=(3, length, c_in))
    _assert_close(conv(_t(x)), ref.conv1d(x, *_conv(conv)))

  def test_conv1d_reference_is_cross_correlation_same_padding(self):
    x = np.arange(1.0, 6.0)[None, :, None]  # [1, 5, 1]
    kernel = np.array([1.0, 10.0, 100.0])[:, None, None]
    out = ref.conv1d(x, kernel, np.zeros(1))[0, :, 0]
    # out[t] = x[t-1] + 10 x[t] + 100 x[t+1], zero padded.
    expected = [0 + 10 + 200, 1 + 20 + 300, 2 + 30 + 400, 3 + 40 + 500,
                4 + 50 + 0]
    np.testing.assert_allclose(out, expected)


class WeightTermsTest(tf.test.TestCase, parameterized.TestCase):
  """§3.5: w̃, standardisation, the low-rank readouts and the 12 terms."""

  def test_term_names_are_sorted_keys(self):
    self.assertEqual(tuple(weight_terms_lib.TERM_NAMES), ref.TERM_NAMES)
    self.assertLen(ref.TERM_NAMES, 12)

  @parameterized.parameters(*SHAPES)
  def test_w_tilde_and_standardize(self, n_in, n_out, batch):
    rng = _rng('wt', n_in, n_out, batch)
    kernel = _kernel(rng, n_in, n_out)
    _assert_close(weight_terms_lib.normalized_kernel(_t(kernel)),
                  ref.w_tilde(kernel))
    x = _activations(rng, batch, n_out)
    x[:, -1] = 3.0 + 1e-4 * rng.normal(size=batch)  # tiny variance column
    _assert_close(weight_terms_lib.standardize_over_batch(_t(x)),
                  ref.standardize(x))

  @parameterized.parameters(
      *[dict(psd=psd, **shape) for psd in (False, True) for shape in SHAPES])
  def test_low_rank_readout(self, psd, n_in, n_out, batch):
    rng = _rng('readout', psd, n_in, n_out, batch)
    readout = weight_terms_lib.LowRankReadout(HIDDEN, CHANNELS, psd,
                                              dtype=DTYPE)
    readout.build()
    _randomize(readout, rng)
    h_top = rng.normal(size=(batch, n_out, HIDDEN))
    h_bottom = rng.normal(size=(batch, n_in, HIDDEN))
    if psd:
      actual = readout(_t(_units_first(h_top)))
      expected = ref.low_rank_readout(h_top, None, _dense(readout.top))
      self.assertEqual(expected.shape, (n_out, n_out))
      # PSD: symmetric with non-negative eigenvalues.
      self.assertGreater(np.linalg.eigvalsh(expected).min(), -1e-12)
    else:
      actual = readout(_t(_units_first(h_top)), _t(_units_first(h_bottom)))
      expected = ref.low_rank_readout(h_top, h_bottom, *_readout(readout))
      self.assertEqual(expected.shape, (n_in, n_out))
    _assert_close(actual, expected)

  @parameterized.named_parameters(
      *[dict(testcase_name=f'{name}_{s["n_in"]}x{s["n_out"]}_b{s["batch"]}',
             name=name, **s)
        for name, s in itertools.product(ref.TERM_NAMES, SHAPES)])
  def test_term(self, name, n_in, n_out, batch):
    actual, actual_wt, expected, expected_wt = _terms_case(n_in, n_out, batch)
    self.assertEqual(set(actual), set(ref.TERM_NAMES))
    _assert_close(actual_wt, expected_wt)
    self.assertEqual(expected[name].shape, (n_in, n_out))
    self.assertGreater(np.max(np.abs(expected[name])), 1e-3)
    _assert_close(actual[name], expected[name])


class MergeTest(tf.test.TestCase, parameterized.TestCase):
  """§3.6: soft normalisation, mixture, length constraint, anti-collapse."""

  def _merge_layer(self, rng):
    layer = merge_lib.WeightMerge(dtype=DTYPE)
    layer.build()
    _randomize(layer, rng)
    return layer

  def _terms(self, rng, n_in, n_out):
    terms = {}
    for name in ref.TERM_NAMES:
      # Column scales around 1, so that the soft-norm ε = 1 matters.
      scales = 10.0 ** rng.uniform(-1.5, 1.0, size=n_out)
      terms[name] = rng.normal(size=(n_in, n_out)) * scales
    return terms

  @parameterized.parameters(
      *[dict(shrinks=shrinks, **shape)
        for shrinks in (False, True) for shape in SHAPES])
  def test_merge(self, shrinks, n_in, n_out, batch):
    del batch  # Unused: the merge has no batch axis.
    rng = _rng('merge', shrinks, n_in, n_out)
    layer = self._merge_layer(rng)
    coefficients = rng.normal(size=12)
    # A large ±'w_base' coefficient decides the sign of p = mean(ΔW ⊙ w̃).
    coefficients[ref.TERM_NAMES.index('w_base')] = 4.0 if shrinks else -4.0
    layer.mixture.kernel.assign(coefficients[:, None])
    kernel = _kernel(rng, n_in, n_out)
    wt = ref.w_tilde(kernel)
    terms = self._terms(rng, n_in, n_out)
    terms['w_base'] = wt
    bias = float(_np(layer.mixture.bias)[0])
    # The case we meant to test is the one that happens.
    mixed = sum(c * ref.soft_normalize(terms[n])
                for c, n in zip(coefficients, ref.TERM_NAMES))
    p = np.mean((mixed + bias) / 12.0 * wt)
    self.assertEqual(p > 0, shrinks)
    expected = ref.merge(terms, wt, coefficients, bias)
    actual = layer({k: _t(v) for k, v in terms.items()}, _t(wt))
    _assert_close(actual, expected)

  @parameterized.parameters(
      *[dict(c=c, **shape) for c in (2.5, -1.5) for shape in SHAPES[::2]])
  def test_reduction_to_w_base_closed_form(self, c, n_in, n_out, batch):
    del batch
    rng = _rng('reduction', c, n_in, n_out)
    layer = self._merge_layer(rng)
    coefficients = np.zeros((12, 1))
    coefficients[ref.TERM_NAMES.index('w_base'), 0] = c
    layer.mixture.kernel.assign(coefficients)
    layer.mixture.bias.assign(np.zeros(1))
    kernel = _kernel(rng, n_in, n_out)
    kernel[:, 0] *= 1e-3 / np.sqrt(np.mean(kernel[:, 0] ** 2))  # m_0 = 1/2
    wt = ref.w_tilde(kernel)
    terms = self._terms(rng, n_in, n_out)  # all but w_base have coefficient 0
    terms['w_base'] = wt
    expected = _closed_form_w_base_only(kernel, c)
    actual = layer({k: _t(v) for k, v in terms.items()}, _t(wt))
    _assert_close(actual, expected, rtol=1e-12)
    _assert_close(ref.merge(terms, wt, coefficients[:, 0], 0.0), expected,
                  rtol=1e-12)


class BiasRuleTest(tf.test.TestCase, parameterized.TestCase):
  """§3.7: batch mean, subtract a negative mean, normalise with ε = 0.5."""

  @parameterized.parameters(
      *[dict(mean_sign=sign, units=units, batch=batch)
        for sign, units, batch in itertools.product(
            (-1.0, 1.0), (3, 7, 12), BATCHES)])
  def test_bias_rule(self, mean_sign, units, batch):
    rng = _rng('bias', mean_sign, units, batch)
    layer = bias_rule_lib.BiasRule(HIDDEN, dtype=DTYPE)
    layer.build()
    _randomize(layer, rng, scale=0.3)
    layer.readout.bias.assign([0.4 * mean_sign])
    h = rng.normal(size=(batch, units, HIDDEN))
    raw = ref.dense(h, *_dense(layer.readout))[..., 0].mean(axis=0)
    self.assertEqual(np.sign(raw.mean()), mean_sign)
    self.assertGreater(np.std(raw), 1e-2)
    expected = ref.bias_rule(h, _dense(layer.readout))
    if mean_sign < 0:
      self.assertAllClose(expected.mean(), 0.0, atol=1e-12)
    _assert_close(layer(_t(_units_first(h))), expected)


class DownwardSignalTest(tf.test.TestCase, parameterized.TestCase):
  """§3.4: sigmoid gate + own projection, through Vᵀ, RMS over D."""

  @parameterized.parameters(*SHAPES)
  def test_downward_signal(self, n_in, n_out, batch):
    rng = _rng('down', n_in, n_out, batch)
    layer = downward_signal_lib.DownwardSignal(HIDDEN, DELTA, dtype=DTYPE)
    layer.build()
    _randomize(layer, rng)
    signal = rng.normal(size=(batch, n_out, DELTA))
    z = 2.0 * rng.normal(size=(batch, n_out))
    h = rng.normal(size=(batch, n_out, HIDDEN))
    feedback = _kernel(rng, n_in, n_out)
    feedback[0] *= 1e-4  # a row with tiny output: the 1e-6 matters
    expected = ref.downward_signal(signal, z, h, feedback,
                                   _dense(layer.projection))
    actual = layer(_t(_units_first(signal)), _t(z), _t(_units_first(h)),
                   _t(feedback))
    _assert_close(_units_first(actual), expected)


class UpdateNetworkTest(tf.test.TestCase, parameterized.TestCase):
  """§3.3: weight statistics, unit id, input BN and the conv stack."""

  @parameterized.parameters(
      *[dict(position=position, units=units, batch=batch, num_layers=layers)
        for position, (units, batch), layers in itertools.product(
            ('input', 'hidden', 'top'), ((5, 4), (7, 9), (12, 4)), (1, 2))])
  def test_update_network(self, position, units, batch, num_layers):
    rng = _rng('h', position, units, batch, num_layers)
    layer = update_network_lib.UpdateNetwork(HIDDEN, DELTA, num_layers,
                                             dtype=DTYPE)
    layer.build()
    _randomize(layer, rng)
    below = None if position == 'input' else _kernel(rng, 6, units)
    # [units, 3] with varied row (outgoing) scales.
    above = None if position == 'top' else _kernel(rng, 3, units).T
    x = _activations(rng, batch, units)
    z = x if position == 'input' else rng.normal(size=(batch, units))
    signal = rng.normal(size=(batch, units, DELTA))
    offset = (np.zeros(units) if position == 'input' else
              rng.normal(size=units))
    expected = ref.update_network(x, z, signal, offset, below, above,
                                  _update_network_params(layer))
    actual = layer(_t(x), _t(z), _t(_units_first(signal)), _t(offset),
                   None if below is None else _t(below),
                   None if above is None else _t(above))
    self.assertEqual(expected.shape, (batch, units, HIDDEN))
    _assert_close(_units_first(actual), expected)

  @parameterized.parameters(dict(units=1), dict(units=5), dict(units=12))
  def test_unit_id(self, units):
    _assert_close(update_network_lib.unit_id_features(units, tf.float64),
                  ref.unit_id(units), rtol=1e-12)

  @parameterized.parameters(
      dict(below=True, above=True), dict(below=False, above=True),
      dict(below=True, above=False))
  def test_weight_features(self, below, above):
    rng = _rng('stats', below, above)
    kernel_below = _kernel(rng, 6, 5) if below else None
    kernel_above = _kernel(rng, 5, 4) if above else None
    actual = update_network_lib.neuron_weight_features(
        None if kernel_below is None else _t(kernel_below),
        None if kernel_above is None else _t(kernel_above))
    _assert_close(actual,
                  ref.neuron_weight_features(kernel_below, kernel_above))


class TopSignalTest(tf.test.TestCase, parameterized.TestCase):
  """§3.2: convolutions along the batch with a dense unit-mixing stage."""

  @parameterized.parameters(
      *[dict(width=width, batch=batch, num_layers=layers)
        for width, batch, layers in itertools.product((3, 4), BATCHES,
                                                      (1, 2))])
  def test_top_signal(self, width, batch, num_layers):
    rng = _rng('top', width, batch, num_layers)
    layer = top_signal_lib.TopSignal(width, 7, num_layers, DELTA,
                                     dtype=DTYPE)
    layer.build()
    _randomize(layer, rng)
    x = _activations(rng, batch, width)
    expected = ref.top_signal(x, _top_signal_params(layer))
    self.assertEqual(expected.shape, (batch, width, DELTA))
    _assert_close(_units_first(layer(_t(x))), expected)


class RuleStepTest(tf.test.TestCase, parameterized.TestCase):
  """§3.1, §3.8, §3.9: a whole UnsupervisedUpdate step on a base model."""

  def _setup(self, rng, input_dim, widths, batch, step_size):
    model = base_model.BaseMLP(input_dim, widths, permutation_seed=3,
                               dtype=DTYPE)
    rule = rule_lib.UnsupervisedUpdate(_small_config(step_size=step_size),
                                       dtype=DTYPE)
    _randomize(rule, rng)
    permutation = _np(model.input_permutation).astype(np.int64)
    self.assertFalse(np.array_equal(permutation, np.arange(input_dim)))
    kernels, feedbacks, offsets = [], [], []
    fan_in = input_dim
    for width in widths:
      kernels.append(_kernel(rng, fan_in, width))
      feedbacks.append(rng.normal(size=(fan_in, width)))
      offsets.append(0.5 * rng.normal(size=width))
      fan_in = width
    state = {
        base_model.PERMUTATION: tf.constant(permutation, tf.int32),
        base_model.LAYERS: tuple(
            {base_model.KERNEL: _t(k), base_model.FEEDBACK_KERNEL: _t(v),
             base_model.OFFSET: _t(b)}
            for k, v, b in zip(kernels, feedbacks, offsets))}
    inputs = rng.normal(size=(batch, input_dim))
    return model, rule, state, inputs, permutation, kernels, feedbacks, offsets

  @parameterized.parameters(
      dict(input_dim=6, widths=(5, 4), batch=4),
      dict(input_dim=6, widths=(5, 4), batch=9),
      dict(input_dim=7, widths=(8, 3, 4), batch=4),
      dict(input_dim=7, widths=(8, 3, 4), batch=9))
  def test_rule_step(self, input_dim, widths, batch):
    step_size = 0.25
    rng = _rng('step', input_dim, widths, batch)
    (model, rule, state, inputs, permutation, kernels, feedbacks,
     offsets) = self._setup(rng, input_dim, widths, batch, step_size)
    zs, xs = model.functional_forward(state, _t(inputs))
    expected = ref.rule_step(_theta(rule), inputs, permutation, kernels,
                             feedbacks, offsets, step_size=step_size)
    for actual_z, expected_z in zip(zs, expected['zs'], strict=True):
      _assert_close(actual_z, expected_z)
    for actual_x, expected_x in zip(xs, expected['xs'], strict=True):
      _assert_close(actual_x, expected_x)
    hs = rule.compute_h(state, zs, xs)
    for actual_h, expected_h in zip(hs, expected['hs'], strict=True):
      _assert_close(_units_first(actual_h), expected_h)
    new_state = rule(state, zs, xs)
    self.assertAllEqual(new_state[base_model.PERMUTATION], permutation)
    for index, entry in enumerate(new_state[base_model.LAYERS]):
      _assert_close(entry[base_model.KERNEL], expected['kernels'][index])
      _assert_close(entry[base_model.FEEDBACK_KERNEL],
                    expected['feedback_kernels'][index])
      _assert_close(entry[base_model.OFFSET], expected['offsets'][index])
      # The update itself, recovered from the rolling step (§3.9).
      change = ((1 - step_size) * kernels[index] -
                _np(entry[base_model.KERNEL])) / step_size
      _assert_close(change, expected['kernel_changes'][index], rtol=1e-9)

  @parameterized.parameters(
      dict(c=1.3, step_size=0.3, batch=4),
      dict(c=-2.0, step_size=0.3, batch=9),
      dict(c=-2.0, step_size=ref.STEP_SIZE, batch=9))
  def test_reduction_full_step(self, c, step_size, batch):
    """Only 'w_base' mixes: W' = (1 − α)W − α ΔW_closed(W), V likewise."""
    rng = _rng('full_reduction', c, step_size, batch)
    input_dim, widths = 7, (8, 3, 4)
    (model, rule, state, inputs, _, kernels, feedbacks,
     offsets) = self._setup(rng, input_dim, widths, batch, step_size)
    coefficients = np.zeros((12, 1))
    coefficients[ref.TERM_NAMES.index('w_base'), 0] = c
    rule.weight_merge.mixture.kernel.assign(coefficients)
    rule.weight_merge.mixture.bias.assign(np.zeros(1))
    zs, xs = model.functional_forward(state, _t(inputs))
    new_state = rule(state, zs, xs)
    expected = ref.rule_step(_theta(rule), inputs,
                             _np(model.input_permutation).astype(np.int64),
                             kernels, feedbacks, offsets, step_size=step_size)
    for index, entry in enumerate(new_state[base_model.LAYERS]):
      change = _closed_form_w_base_only(kernels[index], c)
      _assert_close(entry[base_model.KERNEL],
                    (1 - step_size) * kernels[index] - step_size * change,
                    rtol=1e-12)
      _assert_close(entry[base_model.FEEDBACK_KERNEL],
                    (1 - step_size) * feedbacks[index] - step_size * change,
                    rtol=1e-12)
      _assert_close(entry[base_model.OFFSET], expected['offsets'][index])

  def test_default_step_size(self):
    self.assertEqual(config_lib.RuleConfig().step_size, ref.STEP_SIZE)


if __name__ == '__main__':
  tf.test.main()
