"""Tests of exported rules (learned_rule.export).

One small rule is exported once for the module (depths 2 and 3 only, so the
export takes seconds). The tests check the round trip through
:func:`export.load_rule`, the endpoints against the in-package inner loop
and base model, that a fresh process which never imports ``learned_rule``
gets bit-identical results, the atomic replacement of an existing export,
and the errors for missing, corrupt and incompatible directories.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from learned_rule.model import base_model
from learned_rule import export
from learned_rule.unroll import inner_loop
from learned_rule import version
from learned_rule.update_rule import config as config_lib
from learned_rule.update_rule import rule as rule_lib

DEPTHS = (2, 3)
INPUT_DIM = 7
BATCH = 8
CONFIG = config_lib.RuleConfig(top_width=4, hidden_size=6, delta_dim=3,
                               num_grad_channels=2, top_signal_channels=5)
EXTRA_METADATA = {'note': 'exported by test_export', 'step': 7}
# (activation, widths, seed) of the endpoint cases.
CASES = (('relu', (6, 4), 11), ('tanh', (9, 5, 4), 12))


def _random_rule(seed):
  """A rule whose every θ tensor, biases included, is random and nonzero."""
  rule = rule_lib.UnsupervisedUpdate(CONFIG)
  rng = np.random.RandomState(seed)
  for variable in rule.trainable_variables:
    variable.assign(0.3 * rng.randn(*variable.shape).astype(np.float32))
  return rule


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
  """(rule, directory) of the one export shared by this module."""
  keras.utils.set_random_seed(2024)
  rule = _random_rule(0)
  directory = str(tmp_path_factory.mktemp('export') / 'rule')
  assert export.export_rule(rule, directory, metadata=EXTRA_METADATA,
                            depths=DEPTHS) == directory
  return rule, directory


@pytest.fixture(scope='module')
def loaded(exported):
  return tf.saved_model.load(exported[1])


@pytest.fixture(scope='module')
def graph_loop(exported):
  return inner_loop.InnerLoop(exported[0], jit_compile=False)


def _batch(seed, input_dim=INPUT_DIM):
  return np.random.RandomState(seed).randn(BATCH, input_dim).astype(
      np.float32)


def _initial_state(module, widths, seed):
  return module.initial_state(tf.constant(INPUT_DIM, tf.int32),
                              tf.constant(widths, tf.int32),
                              tf.constant([seed, 0], tf.int64))


def _flat(nest):
  return [np.asarray(t) for t in tf.nest.flatten(nest)]


# -- Round trip. ---------------------------------------------------------------


def test_load_rule_round_trip(exported):
  rule, directory = exported
  restored, metadata = export.load_rule(directory)
  assert isinstance(restored, rule_lib.UnsupervisedUpdate)
  assert restored.config == rule.config == CONFIG
  assert len(restored.trainable_variables) == len(rule.trainable_variables)
  for ours, theirs in zip(rule.trainable_variables,
                          restored.trainable_variables):
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(theirs.numpy(), ours.numpy())
  # The comparison above is not vacuous: a fresh rule has another θ.
  fresh = rule_lib.UnsupervisedUpdate(CONFIG)
  assert not all(np.array_equal(a.numpy(), b.numpy()) for a, b in
                 zip(fresh.trainable_variables, restored.trainable_variables))

  assert metadata['format'] == export.FORMAT_NAME
  assert metadata['format_version'] == export.FORMAT_VERSION
  assert metadata['package_version'] == version.__version__
  assert metadata['rule_config'] == CONFIG.to_dict()
  assert [entry['name'] for entry in metadata['theta']] == rule.theta_names()
  assert [tuple(entry['shape']) for entry in metadata['theta']] == [
      tuple(v.shape) for v in rule.trainable_variables]
  assert metadata['extra'] == EXTRA_METADATA
  # The same config as expected is accepted.
  export.load_rule(directory, expected_config=CONFIG)


def test_metadata_endpoint_is_plain_json(loaded, exported):
  metadata = json.loads(loaded.metadata().numpy().decode('utf-8'))
  assert metadata == export.rule_metadata(exported[0], EXTRA_METADATA)


# -- Endpoints. ----------------------------------------------------------------


@pytest.mark.parametrize('widths', [(6, 4), (9, 5, 4)])
def test_initial_state_shapes_and_determinism(loaded, widths):
  state = _initial_state(loaded, widths, 5)
  permutation = state['input_permutation'].numpy()
  assert permutation.dtype == np.int32
  np.testing.assert_array_equal(np.sort(permutation), np.arange(INPUT_DIM))
  assert len(state['layers']) == len(widths)
  fan_in = INPUT_DIM
  for entry, width in zip(state['layers'], widths):
    assert entry['kernel'].shape == (fan_in, width)
    assert entry['feedback_kernel'].shape == (fan_in, width)
    assert entry['offset'].shape == (width,)
    assert entry['kernel'].dtype == tf.float32
    assert not np.array_equal(entry['kernel'], entry['feedback_kernel'])
    fan_in = width
  again = _initial_state(loaded, widths, 5)
  for a, b in zip(_flat(state), _flat(again)):
    np.testing.assert_array_equal(a, b)
  other = _initial_state(loaded, widths, 6)
  assert not np.array_equal(_flat(state)[1], _flat(other)[1])


@pytest.mark.parametrize('activation, widths, seed', CASES)
def test_endpoints_match_inner_loop_and_base_model(loaded, graph_loop,
                                                   activation, widths, seed):
  state = _initial_state(loaded, widths, seed)
  batch = _batch(seed)
  updated = loaded.unsupervised_update(state, tf.constant(batch),
                                       tf.constant(activation))
  model = base_model.BaseMLP(INPUT_DIM, widths, activation=activation)
  want = graph_loop.unroll(model, state, batch[None])
  tf.nest.assert_same_structure(updated, want)
  for got, expected, before in zip(_flat(updated), _flat(want),
                                   _flat(state)):
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    if got.dtype != np.int32:
      assert not np.array_equal(got, before)  # The update did something.
  features = loaded.features(updated, tf.constant(batch),
                             tf.constant(activation))
  np.testing.assert_allclose(
      features.numpy(), model.functional_forward(updated, batch)[1][-1],
      rtol=0, atol=1e-6)
  assert features.shape == (BATCH, widths[-1])


def test_unknown_activation_raises(loaded):
  state = _initial_state(loaded, (6, 4), 3)
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match='Unknown activation'):
    loaded.unsupervised_update(state, tf.constant(_batch(3)),
                               tf.constant('softplus'))
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match='Unknown activation'):
    loaded.features(state, tf.constant(_batch(3)), tf.constant('Relu'))


# -- A fresh process that never imports learned_rule. --------------------------

_CHILD_SCRIPT = textwrap.dedent('''\
    """Runs the endpoints of an exported rule without learned_rule."""
    import importlib.abc
    import sys


    class _Blocker(importlib.abc.MetaPathFinder):

      def find_spec(self, name, path=None, target=None):
        if name == 'learned_rule' or name.startswith('learned_rule.'):
          raise ImportError('learned_rule must not be imported here')
        return None


    sys.meta_path.insert(0, _Blocker())

    import numpy as np
    import tensorflow as tf

    directory, inputs_path, outputs_path = sys.argv[1:]
    loaded = tf.saved_model.load(directory)
    inputs = np.load(inputs_path)
    outputs = {}
    for case in str(inputs['cases']).split(','):
      state = loaded.initial_state(
          tf.constant(inputs[case + '/input_dim']),
          tf.constant(inputs[case + '/widths']),
          tf.constant(inputs[case + '/seed']))
      batch = tf.constant(inputs[case + '/batch'])
      activation = tf.constant(str(inputs[case + '/activation']))
      updated = loaded.unsupervised_update(state, batch, activation)
      features = loaded.features(updated, batch, activation)
      for name, nest in (('state', state), ('updated', updated),
                         ('features', features)):
        for index, tensor in enumerate(tf.nest.flatten(nest)):
          outputs[f'{case}/{name}/{index}'] = tensor.numpy()
    np.savez(outputs_path, **outputs)
    leaked = sorted(m for m in sys.modules if m.startswith('learned_rule'))
    assert not leaked, leaked
    print('CHILD_OK')
    ''')


def _endpoint_inputs():
  inputs = {'cases': np.array(','.join(f'case{i}' for i in range(
      len(CASES))))}
  for i, (activation, widths, seed) in enumerate(CASES):
    inputs[f'case{i}/input_dim'] = np.int32(INPUT_DIM)
    inputs[f'case{i}/widths'] = np.array(widths, np.int32)
    inputs[f'case{i}/seed'] = np.array([seed, 1], np.int64)
    inputs[f'case{i}/batch'] = _batch(seed + 100)
    inputs[f'case{i}/activation'] = np.array(activation)
  return inputs


def _run_endpoints(module, inputs):
  """The parent's copy of what the child script computes."""
  outputs = {}
  for case in str(inputs['cases']).split(','):
    state = module.initial_state(
        tf.constant(inputs[case + '/input_dim']),
        tf.constant(inputs[case + '/widths']),
        tf.constant(inputs[case + '/seed']))
    batch = tf.constant(inputs[case + '/batch'])
    activation = tf.constant(str(inputs[case + '/activation']))
    updated = module.unsupervised_update(state, batch, activation)
    features = module.features(updated, batch, activation)
    for name, nest in (('state', state), ('updated', updated),
                       ('features', features)):
      for index, tensor in enumerate(tf.nest.flatten(nest)):
        outputs[f'{case}/{name}/{index}'] = tensor.numpy()
  return outputs


def _assert_bit_identical(actual, expected):
  assert sorted(actual) == sorted(expected)
  for key in expected:
    assert actual[key].dtype == expected[key].dtype, key
    assert np.array_equal(actual[key], expected[key]), key


def test_fresh_process_gets_bit_identical_results(exported, loaded,
                                                  graph_loop, tmp_path):
  rule, directory = exported
  inputs = _endpoint_inputs()
  np.savez(tmp_path / 'inputs.npz', **inputs)
  script = tmp_path / 'child.py'
  script.write_text(_CHILD_SCRIPT)
  env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
  completed = subprocess.run(
      [sys.executable, str(script), directory, str(tmp_path / 'inputs.npz'),
       str(tmp_path / 'outputs.npz')],
      cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
      check=False)
  assert completed.returncode == 0, completed.stderr[-3000:]
  assert 'CHILD_OK' in completed.stdout
  with np.load(tmp_path / 'outputs.npz') as saved:
    child = {key: saved[key] for key in saved.files}

  # The SavedModel loaded in this process.
  parent = _run_endpoints(loaded, inputs)
  _assert_bit_identical(child, parent)

  # The in-package module, before any saving.
  module = export.ExportedRule(rule, export.rule_metadata(rule), DEPTHS)
  module.trace()
  _assert_bit_identical(child, _run_endpoints(module, inputs))

  # The inner loop and the base model: the same ops in another graph.
  for i, (activation, widths, _) in enumerate(CASES):
    model = base_model.BaseMLP(INPUT_DIM, widths, activation=activation)
    state = tf.nest.pack_sequence_as(
        model.initial_state(0),
        [child[f'case{i}/state/{j}'] for j in range(3 * len(widths) + 1)])
    batch = inputs[f'case{i}/batch']
    updated = graph_loop.unroll(model, state, batch[None])
    for j, tensor in enumerate(tf.nest.flatten(updated)):
      np.testing.assert_array_equal(child[f'case{i}/updated/{j}'], tensor)
    np.testing.assert_array_equal(
        child[f'case{i}/features/0'],
        model.functional_forward(updated, batch)[1][-1])


# -- Atomic replacement. -------------------------------------------------------


def test_export_replaces_an_existing_export_atomically(exported, tmp_path):
  old_rule, old_directory = exported
  parent = tmp_path / 'exports'
  parent.mkdir()
  target = parent / 'rule'
  shutil.copytree(old_directory, target)
  new_rule = _random_rule(1)
  export.export_rule(new_rule, str(target), depths=(2,))
  assert sorted(os.listdir(parent)) == ['rule']
  restored, metadata = export.load_rule(str(target))
  assert metadata['extra'] == {}
  for ours, theirs, old in zip(new_rule.trainable_variables,
                               restored.trainable_variables,
                               old_rule.trainable_variables):
    np.testing.assert_array_equal(theirs.numpy(), ours.numpy())
    assert not np.array_equal(theirs.numpy(), old.numpy())


def test_failed_replacement_keeps_the_previous_export(exported, tmp_path,
                                                     monkeypatch):
  old_rule, old_directory = exported
  parent = tmp_path / 'exports'
  parent.mkdir()
  target = parent / 'rule'
  shutil.copytree(old_directory, target)
  real_rename = os.rename

  def rename_failing_into_target(source, destination):
    name = os.path.basename(str(source))
    if (name.startswith('.tmp-rule-') and not name.endswith('.old') and
        str(destination) == str(target)):
      raise OSError('simulated failure')
    return real_rename(source, destination)

  monkeypatch.setattr(os, 'rename', rename_failing_into_target)
  with pytest.raises(OSError, match='simulated'):
    export.export_rule(_random_rule(2), str(target), depths=(2,))
  monkeypatch.setattr(os, 'rename', real_rename)
  assert sorted(os.listdir(parent)) == ['rule']
  restored, _ = export.load_rule(str(target))
  for theirs, old in zip(restored.trainable_variables,
                         old_rule.trainable_variables):
    np.testing.assert_array_equal(theirs.numpy(), old.numpy())


# -- Missing, corrupt and incompatible exports. --------------------------------


class _Metadata(tf.Module):
  """A SavedModel with a `metadata` endpoint returning the given JSON."""

  def __init__(self, metadata):
    super().__init__()
    self._json = tf.constant(json.dumps(metadata))

  @tf.function(input_signature=[])
  def metadata(self):
    return self._json


def _load_error(directory, **kwargs):
  with pytest.raises(export.RuleLoadError) as info:
    export.load_rule(str(directory), **kwargs)
  return str(info.value)


def test_missing_directory(tmp_path):
  assert 'not a directory' in _load_error(tmp_path / 'nowhere')


def test_directory_without_saved_model_pb(tmp_path):
  (tmp_path / 'variables').mkdir()
  assert 'saved_model.pb is missing' in _load_error(tmp_path)


def test_garbage_saved_model_pb(tmp_path):
  (tmp_path / 'saved_model.pb').write_bytes(b'\x00this is not a protobuf\xff')
  assert 'corrupt' in _load_error(tmp_path)


def test_truncated_saved_model_pb(exported, tmp_path):
  directory = tmp_path / 'rule'
  shutil.copytree(exported[1], directory)
  proto = directory / 'saved_model.pb'
  content = proto.read_bytes()
  proto.write_bytes(content[:len(content) // 2])
  message = _load_error(directory)
  assert 'corrupt' in message
  assert 'Export the rule again' in message  # The fix.


def test_saved_model_that_is_not_a_rule(tmp_path):
  module = tf.Module()
  module.weights = tf.Variable([1.0, 2.0])
  tf.saved_model.save(module, str(tmp_path))
  message = _load_error(tmp_path)
  assert 'not an exported learned rule' in message
  assert 'metadata' in message


@pytest.mark.parametrize('metadata, words', [
    ({'format': export.FORMAT_NAME, 'format_version': 999,
      'package_version': '9.0.0'},
     ['format version 999', str(export.FORMAT_VERSION),
      'Install learned_rule 9.0.0 or newer', 'pip install -U learned_rule']),
    ({'format': export.FORMAT_NAME, 'format_version': 0},
     ['format version 0', 'Export the rule again']),
    ({'format': 'somebody.else', 'format_version': export.FORMAT_VERSION},
     ['somebody.else']),
])
def test_incompatible_format(tmp_path, metadata, words):
  tf.saved_model.save(_Metadata(metadata), str(tmp_path))
  message = _load_error(tmp_path)
  for word in words:
    assert word in message


def test_expected_config_mismatch_names_the_field(exported):
  other = config_lib.RuleConfig(top_width=4, hidden_size=7, delta_dim=3,
                                num_grad_channels=2, top_signal_channels=5)
  message = _load_error(exported[1], expected_config=other)
  assert 'hidden_size' in message
  assert 'delta_dim' not in message
