"""Tests of learned_rule.keras_layers.RuleFeatures and the features endpoints.

One small rule is exported once for the module (depth 2 only, so the export
takes seconds). The tests check that a classifier trains on the layer's
features with ``model.fit`` while the base-model state stays put and comes
back from a saved model, that ``adapt`` equals the export's
``unsupervised_update`` applied by hand, that both ``TFSMLayer`` routes
(the adapted layer's SavedModel and the rule export's ``serve_features``)
give the layer's features, and that a wrong top width is refused.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from learned_rule import export
from learned_rule.keras_layers import RuleFeatures
from learned_rule.update_rule import config as config_lib
from learned_rule.update_rule import rule as rule_lib

INPUT_DIM = 8
WIDTHS = (6, 4)
BATCH = 16
SEED = 3
CONFIG = config_lib.RuleConfig(top_width=4, hidden_size=6, delta_dim=3,
                               num_grad_channels=2, top_signal_channels=5)


@pytest.fixture(scope='module')
def rule_dir(tmp_path_factory):
  """Directory of a small exported rule with random, nonzero θ."""
  rule = rule_lib.UnsupervisedUpdate(CONFIG)
  rng = np.random.RandomState(0)
  for variable in rule.trainable_variables:
    variable.assign(0.3 * rng.randn(*variable.shape).astype(np.float32))
  directory = str(tmp_path_factory.mktemp('export') / 'rule')
  return export.export_rule(rule, directory, depths=(2,))


@pytest.fixture(scope='module')
def loaded(rule_dir):
  return tf.saved_model.load(rule_dir)


def _data(seed, size):
  """Two Gaussian classes around fixed centres: (inputs, labels)."""
  centres = 2.0 * np.random.RandomState(99).randn(2, INPUT_DIM)
  rng = np.random.RandomState(seed)
  labels = rng.randint(0, 2, size)
  inputs = centres[labels] + rng.randn(size, INPUT_DIM)
  return inputs.astype(np.float32), labels.astype(np.int32)


def _values(layer):
  return [weight.value.numpy() for weight in layer.weights]


def _assert_same_state(actual, expected, **tolerance):
  actual, expected = tf.nest.flatten(actual), tf.nest.flatten(expected)
  assert len(actual) == len(expected) == 1 + 3 * len(WIDTHS)
  for ours, theirs in zip(actual, expected):
    assert ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours, theirs, **tolerance)


def test_classifier_fits_on_features_and_state_stays(rule_dir, tmp_path):
  keras.utils.set_random_seed(0)
  features = RuleFeatures(rule_dir, WIDTHS, seed=SEED)
  features.build((None, INPUT_DIM))
  inputs, labels = _data(0, 6 * BATCH)
  assert features.trainable_weights == []
  before = _values(features)
  model = keras.Sequential([features, keras.layers.Dense(2)])
  model.trainable = False
  model.trainable = True  # As when fine-tuning: θ and φ stay frozen.
  assert features.trainable_weights == []
  model.compile(
      optimizer=keras.optimizers.Adam(0.05),
      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
      metrics=['accuracy'])
  history = model.fit(inputs, labels, batch_size=BATCH, epochs=6,
                      shuffle=False, verbose=0).history
  assert history['loss'][-1] < 0.9 * history['loss'][0], history
  assert history['accuracy'][-1] > 0.7, history
  after = _values(features)
  assert len(after) == len(before)
  for ours, theirs in zip(after, before):
    np.testing.assert_array_equal(ours, theirs)

  # No gradient reaches the state, even when it is watched.
  with tf.GradientTape() as tape:
    watched = [weight.value for weight in features.weights
               if weight.dtype == 'float32']
    tape.watch(watched)
    outputs = features(inputs[:BATCH])
  assert all(g is None for g in tape.gradient(outputs, watched))

  # The adapted state and the classifier come back from a saved model.
  model.save(tmp_path / 'model.keras')
  restored = keras.models.load_model(tmp_path / 'model.keras')
  assert restored.layers[0].get_config() == features.get_config()
  assert restored.trainable_weights == restored.layers[1].trainable_weights
  _assert_same_state(restored.layers[0].get_state(), features.get_state(),
                     rtol=0, atol=0)
  np.testing.assert_array_equal(restored(inputs[:BATCH]), model(inputs[:BATCH]))


@pytest.fixture(scope='module')
def adapted(rule_dir):
  """A layer adapted for 3 batches of (inputs, labels); its inputs."""
  layer = RuleFeatures(rule_dir, WIDTHS, seed=SEED)
  layer.build((None, INPUT_DIM))
  inputs, labels = _data(1, 3 * BATCH)
  dataset = tf.data.Dataset.from_tensor_slices((inputs, labels)).batch(BATCH)
  layer.adapt(dataset, steps=3)
  return layer, inputs


def _updates_by_hand(loaded, state, batches):
  for batch in batches:
    state = loaded.unsupervised_update(state, tf.constant(batch),
                                       tf.constant('relu'))
  return state


def test_adapt_equals_the_exports_update(adapted, loaded):
  layer, inputs = adapted
  initial = loaded.initial_state(tf.constant(INPUT_DIM),
                                 tf.constant(WIDTHS),
                                 tf.constant([SEED, 0], tf.int64))
  fresh = RuleFeatures(layer.rule, WIDTHS, seed=SEED)
  fresh.build((None, INPUT_DIM))
  _assert_same_state(fresh.get_state(), initial, rtol=0, atol=0)

  batches = inputs.reshape(3, BATCH, INPUT_DIM)
  state = _updates_by_hand(loaded, initial, batches)
  _assert_same_state(layer.get_state(), state, rtol=1e-5, atol=1e-8)
  change = max(np.max(np.abs(a - b)) for a, b in zip(
      tf.nest.flatten(state)[1:], tf.nest.flatten(initial)[1:]))
  assert change > 1e-5

  # A NumPy array is batched in order and repeated: batches 0, 1, 2, 0.
  layer.adapt(inputs, steps=4, batch_size=BATCH)
  state = _updates_by_hand(loaded, state, [*batches, batches[0]])
  _assert_same_state(layer.get_state(), state, rtol=1e-5, atol=1e-8)

  # A dataset that ends early is refused and leaves the state as it was.
  dataset = tf.data.Dataset.from_tensor_slices(inputs).batch(BATCH)
  with pytest.raises(ValueError, match='ended after 3 of steps=4'):
    layer.adapt(dataset, steps=4)
  _assert_same_state(layer.get_state(), state, rtol=0, atol=0)


def test_tfsm_layer_serves_the_same_features(adapted, loaded, rule_dir,
                                             tmp_path):
  layer, inputs = adapted
  batch = tf.constant(inputs[:BATCH])
  expected = layer(batch).numpy()
  assert expected.shape == (BATCH, WIDTHS[-1])
  state = layer.get_state()
  tolerance = {'rtol': 1e-6, 'atol': 1e-6}
  np.testing.assert_allclose(
      loaded.features(state, batch, tf.constant('relu')), expected,
      **tolerance)

  # The adapted layer's own SavedModel: `serve` and `serving_default`.
  served = layer.export_serving(tmp_path / 'features')
  np.testing.assert_allclose(keras.layers.TFSMLayer(served)(batch), expected,
                             **tolerance)
  signature = tf.saved_model.load(served).signatures['serving_default']
  (output,) = signature(inputs=batch).values()
  np.testing.assert_allclose(output, expected, **tolerance)

  # The rule export's endpoint with one structured argument.
  rule_layer = keras.layers.TFSMLayer(rule_dir, call_endpoint='serve_features')
  output = rule_layer({'inputs': batch, 'state': state,
                       'activation': tf.constant('relu')})
  np.testing.assert_allclose(output, expected, **tolerance)
  output = rule_layer({'inputs': batch, 'state': state,
                       'activation': tf.constant('tanh')})
  np.testing.assert_allclose(
      output, loaded.features(state, batch, tf.constant('tanh')), **tolerance)
  assert not np.allclose(output, expected)


def test_wrong_top_width_or_rule_is_refused(rule_dir):
  with pytest.raises(ValueError) as info:
    RuleFeatures(rule_dir, (6, 5))
  message = str(info.value)
  assert 'top width of 5' in message
  assert 'top width of 4' in message
  assert 'widths=(6, 4)' in message
  with pytest.raises(export.RuleLoadError, match='available: '):
    RuleFeatures('no_such_rule', WIDTHS)


def test_bad_data_is_refused_and_the_layer_left_unchanged(rule_dir):
  layer = RuleFeatures(rule_dir, WIDTHS, seed=SEED)
  layer.build((None, INPUT_DIM))
  before = [w.numpy() for w in layer.weights]
  data = np.random.RandomState(0).rand(2 * BATCH, INPUT_DIM).astype(
      np.float32)
  data[BATCH + 1, 2] = np.nan  # In the second batch.
  with pytest.raises(ValueError, match='batch 2 holds NaN or infinite '
                     'values .*replace or drop them'):
    layer.adapt(data, steps=2, batch_size=BATCH)
  for old, new in zip(before, layer.weights):
    np.testing.assert_array_equal(old, new.numpy())
  with pytest.raises(ValueError, match='built for 8 .*give inputs of that '
                     'shape, or make a new RuleFeatures layer'):
    layer(np.zeros((4, INPUT_DIM + 1), np.float32))
