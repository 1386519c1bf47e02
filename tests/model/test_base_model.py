"""Tests of the base model (learned_rule.model.base_model, learned_rule.model.activations).

The forward pass is checked against an independent NumPy implementation of
paper_spec.md §2.2: fixed input permutation, x W without bias, batch norm over
the batch with the biased variance, ε = 1e-6 and no scale, + offset, then the
activation.
"""

import sys

import numpy as np
import pytest
import tensorflow as tf

from learned_rule.model import activations
from learned_rule.model import base_model
from learned_rule.model import local_dense
from learned_rule.data import transforms

ACTIVATION_NAMES = ('relu', 'leaky_relu', 'swish', 'tanh', 'sigmoid', 'step',
                    'identity')

# Truncation at two standard deviations shrinks the std of a normal by this
# factor: sqrt(1 - 2 * 2 * pdf(2) / (2 * cdf(2) - 1)).
TRUNCATED_STD_FACTOR = 0.8796


# -- Independent NumPy reference of spec §2.2. ---------------------------------


def _np_sigmoid(z):
  return 1.0 / (1.0 + np.exp(-z))


NUMPY_ACTIVATIONS = {
    'relu': lambda z: np.maximum(z, 0.0),
    'leaky_relu': lambda z: np.where(z > 0, z, 0.2 * z),
    'swish': lambda z: z * _np_sigmoid(z),
    'tanh': np.tanh,
    'sigmoid': _np_sigmoid,
    'step': lambda z: (z > 0).astype(z.dtype),
    'identity': lambda z: z,
}


def numpy_forward(state, x, activation):
  """Forward pass of spec §2 in float64 NumPy from a state nest."""
  act = NUMPY_ACTIVATIONS[activation]
  x = np.asarray(x, np.float64).reshape(x.shape[0], -1)
  permutation = np.asarray(state['input_permutation'])
  x = x[:, permutation]
  pre_activations, outputs = [], [x]
  for layer in state['layers']:
    linear = x @ np.asarray(layer['kernel'], np.float64)
    mean = linear.mean(axis=0)
    variance = ((linear - mean) ** 2).mean(axis=0)  # Biased: divide by B.
    z = ((linear - mean) / np.sqrt(variance + 1e-6) +
         np.asarray(layer['offset'], np.float64))
    x = act(z)
    pre_activations.append(z)
    outputs.append(x)
  return pre_activations, outputs


def _numpy_state(state):
  return tf.nest.map_structure(lambda t: np.asarray(t), state)


def _inputs(batch, input_dim, seed=0, dtype=np.float32):
  return np.random.RandomState(seed).randn(batch, input_dim).astype(dtype)


def _assert_close_outputs(actual, expected, atol):
  """Compares per-layer arrays of the model with the NumPy reference."""
  assert len(actual) == len(expected)
  for got, want in zip(actual, expected):
    got = np.asarray(got, np.float64)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=atol, rtol=0)


# -- Activations. --------------------------------------------------------------


def test_activation_names_are_the_documented_set():
  assert set(activations.ACTIVATIONS) == set(ACTIVATION_NAMES)


@pytest.mark.parametrize('name', ACTIVATION_NAMES)
def test_activation_matches_numpy(name):
  z = np.linspace(-4.0, 4.0, 81)  # Includes 0 exactly.
  got = activations.get(name)(tf.constant(z)).numpy()
  np.testing.assert_allclose(got, NUMPY_ACTIVATIONS[name](z), atol=1e-12)


def test_step_is_zero_at_zero_and_has_no_gradient():
  z = tf.constant([-1.0, 0.0, 1e-6, 2.0])
  with tf.GradientTape() as tape:
    tape.watch(z)
    y = activations.get('step')(z)
  np.testing.assert_array_equal(y.numpy(), [0.0, 0.0, 1.0, 1.0])
  grad = tape.gradient(tf.reduce_sum(y), z)
  assert grad is None or not np.any(grad.numpy())


def test_unknown_activation_lists_allowed_values():
  with pytest.raises(ValueError, match='activation') as info:
    activations.get('gelu')
  for name in ACTIVATION_NAMES:
    assert name in str(info.value)


# -- Forward pass against the NumPy reference. ---------------------------------


@pytest.mark.parametrize('activation', ACTIVATION_NAMES)
@pytest.mark.parametrize('input_dim,widths', [
    (7, (5,)),
    (12, (9, 4)),
    (20, (16, 16, 8)),
    (30, (24, 20, 16, 12, 6)),
])
def test_forward_matches_numpy(activation, input_dim, widths):
  model = base_model.BaseMLP(input_dim, widths, activation=activation,
                             permutation_seed=3, seed=11)
  x = _inputs(16, input_dim, seed=len(widths))
  pre_activations, outputs = model(x)
  assert len(pre_activations) == len(widths)
  assert len(outputs) == len(widths) + 1
  want_pre, want_out = numpy_forward(_numpy_state(model.get_state()), x,
                                     activation)
  _assert_close_outputs(pre_activations, want_pre, atol=2e-4)
  if activation == 'step':
    # Both sides threshold their own z; they agree away from the threshold.
    for got, z in zip(outputs[1:], want_pre):
      far = np.abs(z) > 1e-3
      np.testing.assert_array_equal(np.asarray(got)[far], (z[far] > 0))
    np.testing.assert_allclose(outputs[0], want_out[0], atol=1e-6)
  else:
    _assert_close_outputs(outputs, want_out, atol=2e-4)


def test_forward_uses_no_bias_and_normalises_over_the_batch():
  model = base_model.BaseMLP(6, (4,), activation='identity', seed=0)
  x = _inputs(4, 6)  # A small batch: biased and unbiased variance differ.
  (z,), _ = model(x)
  z = z.numpy().astype(np.float64)
  layer = model.dense_layers[0]
  # No scale: the per-unit batch mean of z is exactly the offset b.
  np.testing.assert_allclose(z.mean(axis=0), layer.offset.numpy(), atol=1e-5)
  # Biased batch variance v of x W and ε = 1e-6: std(z) = sqrt(v / (v + ε)).
  linear = x.astype(np.float64) @ layer.kernel.numpy().astype(np.float64)
  variance = linear.var(axis=0)
  np.testing.assert_allclose(z.std(axis=0),
                             np.sqrt(variance / (variance + 1e-6)), rtol=1e-4)


def test_representation_depends_on_the_rest_of_the_batch():
  model = base_model.BaseMLP(5, (4,), seed=0)
  x = _inputs(8, 5)
  _, full = model(x)
  _, half = model(x[:4])
  assert not np.allclose(full[-1].numpy()[:4], half[-1].numpy())


def test_inputs_are_flattened():
  model = base_model.BaseMLP(12, (5,), permutation_seed=1, seed=0)
  images = _inputs(6, 12).reshape(6, 2, 3, 2)
  _, from_images = model(images)
  _, from_flat = model(images.reshape(6, 12))
  np.testing.assert_allclose(from_images[-1], from_flat[-1], atol=1e-6)


def test_float64_model_matches_numpy():
  model = base_model.BaseMLP(10, (8, 3), activation='tanh', permutation_seed=2,
                             seed=5, dtype='float64')
  x = _inputs(9, 10, dtype=np.float64)
  pre_activations, outputs = model(x)
  for tensor in pre_activations + outputs:
    assert tensor.dtype == tf.float64
  for variable in model.trainable_variables:
    assert variable.dtype == 'float64'
  want_pre, want_out = numpy_forward(_numpy_state(model.get_state()), x,
                                     'tanh')
  _assert_close_outputs(pre_activations, want_pre, atol=1e-10)
  _assert_close_outputs(outputs, want_out, atol=1e-10)
  state = model.initial_state(0)
  for leaf in tf.nest.flatten(state['layers']):
    assert leaf.dtype == tf.float64
  _, functional = model.functional_forward(state, x)
  assert functional[-1].dtype == tf.float64


# -- The functional view used by the inner loop. -------------------------------


@pytest.mark.parametrize('memory_size', [0, 3])
def test_functional_forward_equals_variable_forward(memory_size):
  model = base_model.BaseMLP(10, (8, 6, 4), memory_size=memory_size,
                             permutation_seed=4, seed=2)
  x = _inputs(12, 10)
  state = model.initial_state(123)
  functional_pre, functional_out = model.functional_forward(state, x)
  # The variables are untouched by the functional call...
  assert not np.allclose(model.get_state()['layers'][0]['kernel'],
                         state['layers'][0]['kernel'])
  # ...and running on the variables after assigning gives the same result.
  model.set_state(state)
  variable_pre, variable_out = model(x)
  for got, want in zip(functional_pre + functional_out,
                       variable_pre + variable_out):
    np.testing.assert_allclose(got, want, atol=1e-6)
  assert len(functional_out) == 4


def test_functional_forward_matches_numpy_and_works_in_tf_function():
  model = base_model.BaseMLP(9, (7, 5), activation='swish', permutation_seed=8,
                             seed=1)
  x = _inputs(10, 9)
  state = model.initial_state(7)
  compiled = tf.function(model.functional_forward)
  _, outputs = compiled(state, tf.constant(x))
  _, want = numpy_forward(_numpy_state(state), x, 'swish')
  _assert_close_outputs(outputs, want, atol=2e-4)


def test_gradients_flow_to_the_state_through_functional_forward():
  model = base_model.BaseMLP(8, (6, 4), memory_size=2, permutation_seed=0,
                             seed=3)
  x = tf.constant(_inputs(10, 8))
  state = model.initial_state(1)
  leaves = [entry[key] for entry in state['layers']
            for key in ('kernel', 'offset', 'feedback_kernel')]
  with tf.GradientTape() as tape:
    tape.watch(leaves)
    _, outputs = model.functional_forward(state, x)
    loss = tf.reduce_sum(tf.square(outputs[-1]))
  grads = tape.gradient(loss, state['layers'])
  for layer_grads in grads:
    for key in ('kernel', 'offset'):
      grad = layer_grads[key]
      assert grad is not None, key
      assert np.all(np.isfinite(grad.numpy()))
      assert np.any(np.abs(grad.numpy()) > 0), key
    # V carries only the top-down signal of the rule, never the forward pass.
    feedback = layer_grads['feedback_kernel']
    assert feedback is None or not np.any(feedback.numpy())


def test_gradient_of_functional_forward_matches_finite_difference():
  model = base_model.BaseMLP(5, (4, 3), activation='tanh', permutation_seed=1,
                             seed=0, dtype='float64')
  x = tf.constant(_inputs(6, 5, dtype=np.float64))
  state = model.initial_state(3)
  offset = state['layers'][0]['offset']

  def loss_fn(b):
    layers = list(state['layers'])
    layers[0] = dict(layers[0], offset=b)
    new_state = dict(state, layers=tuple(layers))
    _, outputs = model.functional_forward(new_state, x)
    return tf.reduce_sum(tf.sin(outputs[-1]))

  with tf.GradientTape() as tape:
    tape.watch(offset)
    loss = loss_fn(offset)
  grad = tape.gradient(loss, offset).numpy()
  eps = 1e-6
  numeric = np.zeros_like(grad)
  for i in range(grad.size):
    delta = np.zeros(grad.shape)
    delta[i] = eps
    numeric[i] = (loss_fn(offset + delta) - loss_fn(offset - delta)) / (2 * eps)
  np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


# -- State: initialisation, structure, round trips. ----------------------------


def _structure(state):
  return tf.nest.map_structure(lambda t: (tuple(t.shape), t.dtype.name), state)


@pytest.mark.parametrize('memory_size', [0, 4])
def test_initial_state_structure_matches_get_state(memory_size):
  model = base_model.BaseMLP(11, (7, 5, 3), memory_size=memory_size)
  assert _structure(model.initial_state(0)) == _structure(model.get_state())
  expected_keys = {'kernel', 'feedback_kernel', 'offset'}
  if memory_size:
    expected_keys.add('memory')
  for entry in model.initial_state(0)['layers']:
    assert set(entry) == expected_keys


def test_initial_state_shapes_follow_the_widths():
  model = base_model.BaseMLP(11, (7, 5, 3))
  state = model.initial_state(0)
  assert state['input_permutation'].shape == (11,)
  fan_in = 11
  for width, entry in zip((7, 5, 3), state['layers']):
    assert entry['kernel'].shape == (fan_in, width)
    assert entry['feedback_kernel'].shape == (fan_in, width)
    assert entry['offset'].shape == (width,)
    fan_in = width


def test_initial_state_is_deterministic_per_seed():
  model = base_model.BaseMLP(10, (6, 4), permutation_seed=5)
  first = _numpy_state(model.initial_state(42))
  again = _numpy_state(model.initial_state(42))
  other = _numpy_state(model.initial_state(43))
  tf.nest.map_structure(np.testing.assert_array_equal, first, again)
  for key in ('kernel', 'feedback_kernel', 'offset'):
    assert not np.allclose(first['layers'][0][key], other['layers'][0][key])
  # The permutation belongs to the instance, not to the seed.
  np.testing.assert_array_equal(first['input_permutation'],
                                other['input_permutation'])
  np.testing.assert_array_equal(first['input_permutation'],
                                transforms.permutation_for(10, 5))


def test_initial_state_accepts_a_stateless_seed_pair():
  model = base_model.BaseMLP(10, (6, 4))
  pair = tf.constant([3, 9], tf.int64)
  first = _numpy_state(model.initial_state(pair))
  again = _numpy_state(model.initial_state(pair))
  other = _numpy_state(model.initial_state(tf.constant([3, 10], tf.int64)))
  tf.nest.map_structure(np.testing.assert_array_equal, first, again)
  assert not np.allclose(first['layers'][1]['kernel'],
                         other['layers'][1]['kernel'])


def test_initial_state_draws_w_and_v_independently():
  model = base_model.BaseMLP(10, (6,))
  entry = model.initial_state(0)['layers'][0]
  assert not np.allclose(entry['kernel'], entry['feedback_kernel'])


def _check_init_statistics(kernel, feedback_kernel, offset):
  """Truncated normals: std 0.01 (W, V) and 0.1 (b) before truncation."""
  for weights in (kernel, feedback_kernel):
    weights = np.asarray(weights)
    assert abs(weights.mean()) < 2e-4
    np.testing.assert_allclose(weights.std(), 0.01 * TRUNCATED_STD_FACTOR,
                               rtol=0.03)
    assert np.abs(weights).max() <= 0.02 + 1e-6
  offset = np.asarray(offset)
  np.testing.assert_allclose(offset.std(), 0.1 * TRUNCATED_STD_FACTOR,
                             rtol=0.1)
  assert np.abs(offset).max() <= 0.2 + 1e-6


def test_initial_state_has_the_spec_init_scale():
  model = base_model.BaseMLP(400, (1000,))
  entry = model.initial_state(0)['layers'][0]
  _check_init_statistics(entry['kernel'], entry['feedback_kernel'],
                         entry['offset'])


def test_variables_have_the_spec_init_scale():
  model = base_model.BaseMLP(400, (1000,), seed=0)
  layer = model.dense_layers[0]
  _check_init_statistics(layer.kernel.numpy(), layer.feedback_kernel.numpy(),
                         layer.offset.numpy())


def test_seeded_models_are_reproducible():
  first = base_model.BaseMLP(9, (6, 3), seed=4)
  second = base_model.BaseMLP(9, (6, 3), seed=4)
  tf.nest.map_structure(np.testing.assert_array_equal,
                        _numpy_state(first.get_state()),
                        _numpy_state(second.get_state()))


def test_set_state_get_state_round_trip():
  model = base_model.BaseMLP(10, (6, 4), memory_size=2, permutation_seed=1)
  state = model.initial_state(9)
  state['layers'][0]['memory'] = tf.fill([6, 2], 0.5)
  model.set_state(state)
  tf.nest.map_structure(np.testing.assert_array_equal,
                        _numpy_state(model.get_state()), _numpy_state(state))


def test_get_state_is_a_snapshot():
  model = base_model.BaseMLP(10, (6,))
  snapshot = model.get_state()
  saved = snapshot['layers'][0]['kernel'].numpy().copy()
  model.set_state(model.initial_state(1))
  np.testing.assert_array_equal(snapshot['layers'][0]['kernel'], saved)


def test_memory_is_a_non_trainable_units_by_m_state():
  model = base_model.BaseMLP(10, (6, 4), memory_size=3)
  state = model.get_state()
  for width, layer, entry in zip((6, 4), model.dense_layers, state['layers']):
    assert entry['memory'].shape == (width, 3)
    assert layer.memory.shape == (width, 3)
    assert not layer.memory.trainable
  np.testing.assert_array_equal(model.initial_state(0)['layers'][0]['memory'],
                                np.zeros((6, 3)))
  trainable_ids = {id(v) for v in model.trainable_variables}
  for layer in model.dense_layers:
    assert id(layer.memory) not in trainable_ids


def test_no_memory_by_default():
  model = base_model.BaseMLP(10, (6,))
  assert model.dense_layers[0].memory is None
  assert 'memory' not in model.get_state()['layers'][0]
  # Only W, V and b of every layer are trainable.
  assert len(model.trainable_variables) == 3


# -- The input permutation (spec §2.3). ----------------------------------------


@pytest.mark.parametrize('seed', [0, 1, 12345])
def test_permutation_is_a_bijection(seed):
  permutation = transforms.permutation_for(50, seed)
  assert permutation.dtype == np.int32
  np.testing.assert_array_equal(np.sort(permutation), np.arange(50))


def test_permutation_is_fixed_per_seed_and_identity_without_one():
  np.testing.assert_array_equal(transforms.permutation_for(50, 3),
                                transforms.permutation_for(50, 3))
  assert not np.array_equal(transforms.permutation_for(50, 3),
                            transforms.permutation_for(50, 4))
  np.testing.assert_array_equal(transforms.permutation_for(50, None),
                                np.arange(50))


def test_model_applies_its_permutation_before_the_first_layer():
  model = base_model.BaseMLP(20, (4,), permutation_seed=7)
  permutation = model.input_permutation.numpy()
  np.testing.assert_array_equal(permutation, transforms.permutation_for(20, 7))
  assert not np.array_equal(permutation, np.arange(20))
  x = _inputs(5, 20)
  _, outputs = model(x)
  np.testing.assert_array_equal(outputs[0].numpy(), x[:, permutation])
  # Same permutation seed, same permutation, whatever the weight seed.
  other = base_model.BaseMLP(20, (4,), permutation_seed=7, seed=99)
  np.testing.assert_array_equal(other.input_permutation.numpy(), permutation)


def test_identity_permutation_when_no_seed():
  model = base_model.BaseMLP(20, (4,))
  np.testing.assert_array_equal(model.input_permutation.numpy(), np.arange(20))
  x = _inputs(5, 20)
  _, outputs = model(x)
  np.testing.assert_array_equal(outputs[0].numpy(), x)


def test_permutation_is_not_trainable():
  model = base_model.BaseMLP(20, (4,), permutation_seed=7)
  assert not model.input_permutation.trainable
  assert model.input_permutation.dtype == 'int32'


# -- Configs. ------------------------------------------------------------------


def test_local_dense_config_round_trip():
  layer = local_dense.LocalDense(5, activation='leaky_relu', memory_size=2,
                                 kernel_stddev=0.02, offset_stddev=0.3,
                                 batch_norm_epsilon=1e-4, seed=6,
                                 name='dense')
  config = layer.get_config()
  clone = local_dense.LocalDense.from_config(config)
  assert clone.get_config() == config
  assert (clone.units, clone.activation_name, clone.memory_size) == (
      5, 'leaky_relu', 2)
  x = _inputs(8, 3)
  layer.build((None, 3))
  clone.build((None, 3))
  assert [v.shape for v in clone.weights] == [v.shape for v in layer.weights]
  clone.set_weights(layer.get_weights())
  for got, want in zip(clone(x), layer(x)):
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_base_mlp_config_round_trip():
  model = base_model.BaseMLP(12, (8, 5), activation='sigmoid', memory_size=1,
                             permutation_seed=3, seed=2)
  config = model.get_config()
  clone = base_model.BaseMLP.from_config(config)
  assert clone.get_config() == config
  assert clone.widths == (8, 5)
  assert clone.signature == model.signature
  np.testing.assert_array_equal(clone.input_permutation.numpy(),
                                model.input_permutation.numpy())
  assert _structure(clone.get_state()) == _structure(model.get_state())
  clone.set_state(model.get_state())
  x = _inputs(6, 12)
  for got, want in zip(clone(x)[1], model(x)[1]):
    np.testing.assert_allclose(got, want, atol=1e-6)


# -- Bad input. ----------------------------------------------------------------


def test_unknown_activation_is_rejected_with_allowed_values():
  for make in (lambda: base_model.BaseMLP(4, (3,), activation='gelu'),
               lambda: local_dense.LocalDense(3, activation='gelu')):
    with pytest.raises(ValueError, match='activation') as info:
      make()
    for name in ACTIVATION_NAMES:
      assert name in str(info.value)


@pytest.mark.parametrize('widths', [(3, 0), (-2,), (3, 2.5), (3, '4'),
                                    (True,)])
def test_bad_width_is_rejected(widths):
  with pytest.raises(ValueError, match='widths'):
    base_model.BaseMLP(4, widths)


def test_empty_widths_are_rejected():
  with pytest.raises(ValueError, match='widths'):
    base_model.BaseMLP(4, ())


@pytest.mark.parametrize('units', [0, -1, 2.0])
def test_bad_units_are_rejected(units):
  with pytest.raises(ValueError, match='units'):
    local_dense.LocalDense(units)


@pytest.mark.parametrize('input_dim', [0, -3, 4.5])
def test_bad_input_dim_is_rejected(input_dim):
  with pytest.raises(ValueError, match='input_dim'):
    base_model.BaseMLP(input_dim, (3,))


def test_negative_memory_size_is_rejected():
  with pytest.raises(ValueError, match='memory_size'):
    base_model.BaseMLP(4, (3,), memory_size=-1)


@pytest.mark.parametrize('functional', [False, True])
def test_one_dimensional_input_is_rejected(functional):
  model = base_model.BaseMLP(4, (3,))
  x = np.ones((4,), np.float32)
  with pytest.raises(ValueError, match='inputs.*rank'):
    if functional:
      model.functional_forward(model.get_state(), x)
    else:
      model(x)


@pytest.mark.parametrize('functional', [False, True])
def test_wrong_number_of_features_is_rejected(functional):
  model = base_model.BaseMLP(4, (3,))
  x = np.ones((3, 5), np.float32)
  with pytest.raises(ValueError, match='inputs.*input_dim=4'):
    if functional:
      model.functional_forward(model.get_state(), x)
    else:
      model(x)


@pytest.mark.parametrize('functional', [False, True])
def test_batch_of_one_is_rejected(functional):
  model = base_model.BaseMLP(4, (3,))
  x = np.ones((1, 4), np.float32)
  with pytest.raises(ValueError, match='inputs.*batch'):
    if functional:
      model.functional_forward(model.get_state(), x)
    else:
      model(x)


@pytest.mark.parametrize('functional', [False, True])
@pytest.mark.parametrize('bad', [np.nan, np.inf])
def test_non_finite_input_is_rejected(functional, bad):
  model = base_model.BaseMLP(4, (3,))
  x = np.ones((3, 4), np.float32)
  x[1, 2] = bad
  with pytest.raises(ValueError, match='inputs.*NaN or Inf'):
    if functional:
      model.functional_forward(model.get_state(), x)
    else:
      model(x)


@pytest.mark.parametrize('memory_size', [1.5, True, '2'])
def test_non_int_memory_size_is_rejected(memory_size):
  with pytest.raises(ValueError, match='memory_size'):
    local_dense.LocalDense(3, memory_size=memory_size)


def test_local_dense_alone_checks_its_batch():
  layer = local_dense.LocalDense(3)
  with pytest.raises(ValueError, match='inputs.*batch'):
    layer(np.ones((1, 4), np.float32))


if __name__ == '__main__':
  sys.exit(pytest.main([__file__, '-q']))
