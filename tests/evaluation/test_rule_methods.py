"""Rule-driven methods of the transfer evaluation, and where rules come from.

Covers the unroll splitting of ``rule_methods``, the ``learned_rule`` /
``random_init`` methods on a small rule and the 8×8 digits, and
``rule_source.load`` on run directories and bare exports.
"""

import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from learned_rule import export
from learned_rule.unroll import inner_loop as inner_loop_lib
from learned_rule.data import digits
from learned_rule.evaluation import protocol
from learned_rule.evaluation import rule_methods
from learned_rule.evaluation import rule_source
from learned_rule.update_rule import config as config_lib
from learned_rule.update_rule import rule as rule_lib

# A rule small enough to trace in a second (as in tests/cli/test_apply_rule.py);
# a large step size so that a few steps visibly change the base model.
SMALL_CONFIG = config_lib.RuleConfig(
    top_width=4, hidden_size=6, delta_dim=3, num_grad_channels=2,
    top_signal_channels=5, step_size=0.05)
EXPORT_SEED = 5


# ------------------------------------------------------------ unroll splits


def test_common_piece_of_the_usual_step_list():
  assert rule_methods.common_piece((0, 100, 300, 1000, 3000, 10000)) == 100
  assert rule_methods.common_piece((0, 500, 1000)) == 250
  assert rule_methods.common_piece((0, 64, 128), max_unroll=50) == 32


@pytest.mark.parametrize('steps', [(0, 3, 7), (0, 10, 20), (0,), (5, 6)])
def test_common_piece_is_none_for_tiny_or_no_gaps(steps):
  assert rule_methods.common_piece(steps) is None


def test_common_piece_divides_every_gap():
  for steps in [(0, 48, 96, 240), (0, 120, 360, 600), (16, 32, 80)]:
    piece = rule_methods.common_piece(steps)
    gaps = np.diff((0,) + steps)
    gaps = gaps[gaps > 0]
    assert piece is not None and piece <= rule_methods.MAX_UNROLL
    assert all(gap % piece == 0 for gap in gaps), (steps, piece)


def test_unroll_pieces_cover_every_length_with_few_sizes():
  for max_unroll in (1, 7, 50, rule_methods.MAX_UNROLL):
    for length in range(0, 1200, 7):
      pieces = rule_methods.unroll_pieces(length, max_unroll)
      assert sum(pieces) == length, (length, max_unroll)
      assert all(0 < piece <= max_unroll for piece in pieces), pieces
      assert len(set(pieces)) <= 2, (length, max_unroll, pieces)
      fewest = -(-length // max_unroll)
      assert len(pieces) <= 2 * fewest, (length, max_unroll, pieces)


def test_unroll_pieces_use_the_common_piece_when_it_divides():
  assert rule_methods.unroll_pieces(700, piece=100) == [100] * 7
  assert rule_methods.unroll_pieces(2000, piece=100) == [100] * 20
  # 150 is not a multiple of 100: equal pieces instead.
  assert rule_methods.unroll_pieces(150, piece=100) == [150]
  # A piece longer than the limit is never used.
  pieces = rule_methods.unroll_pieces(600, max_unroll=250, piece=300)
  assert max(pieces) <= 250 and sum(pieces) == 600
  assert rule_methods.unroll_pieces(0, piece=100) == []


# ------------------------------------------------------------- rule methods


@pytest.fixture(scope='module')
def data():
  return digits.load_split('test')


@pytest.fixture(scope='module')
def rule():
  return rule_lib.UnsupervisedUpdate(SMALL_CONFIG)


def _setting(data, **overrides):
  values = dict(data=data, widths=(8, 4), activation='relu', batch_size=16,
                seed=3, steps=(0, 3, 7), num_draws=1)
  values.update(overrides)
  return protocol.Setting(**values)


@pytest.fixture(scope='module')
def trajectories(data, rule):
  """Trajectories and filters of the rule method and of random init."""
  setting = _setting(data)
  learned = rule_methods.RuleMethod(rule, jit_compile=False)
  untrained = rule_methods.RandomInit(rule)
  return {
      'learned': list(learned.trajectory(setting)),
      'learned_filters': learned.filter_history(),
      'random': list(untrained.trajectory(setting)),
  }


def _features(trajectory, index):
  """Support and query features of the only draw at the index-th step."""
  support, query = trajectory[index][1][0]
  return np.concatenate([support, query], axis=0)


def test_trajectories_visit_every_step(trajectories):
  for name in ('learned', 'random'):
    assert [step for step, _ in trajectories[name]] == [0, 3, 7]
    features = _features(trajectories[name], 0)
    assert features.shape[1] == 4
    assert np.all(np.isfinite(features))


def test_rule_method_starts_as_random_init(trajectories):
  np.testing.assert_array_equal(_features(trajectories['learned'], 0),
                                _features(trajectories['random'], 0))


def test_random_init_never_changes(trajectories):
  first = _features(trajectories['random'], 0)
  for index in (1, 2):
    np.testing.assert_array_equal(_features(trajectories['random'], index),
                                  first)


def test_rule_method_changes_the_features(trajectories):
  start = _features(trajectories['learned'], 0)
  for index in (1, 2):
    later = _features(trajectories['learned'], index)
    assert np.all(np.isfinite(later))
    assert np.abs(later - start).max() > 1e-4


def test_filter_history_follows_the_first_layer(trajectories):
  filters = trajectories['learned_filters']
  assert [step for step, _ in filters] == [0, 3, 7]
  assert filters[0][1].shape == (64, 8)
  assert not np.allclose(filters[0][1], filters[2][1])


def test_training_in_pieces_equals_one_unroll(data, rule, trajectories,
                                             monkeypatch):
  del trajectories  # Traced the unrolls of 3 and 4 steps, reused here.
  setting = _setting(data)
  # Pieces of at most 4 steps: 7 steps become [4, 3].
  split = []
  original = rule_methods.unroll_pieces

  def unroll_pieces(length, piece=None):
    split.append(original(length, max_unroll=4, piece=piece))
    return split[-1]

  monkeypatch.setattr(rule_methods, 'unroll_pieces', unroll_pieces)
  method = rule_methods.RuleMethod(rule, jit_compile=False)
  state = method.start(setting)
  start = state.state
  batches = np.concatenate([chunk for _, chunk, _ in setting.chunks()])
  assert len(batches) == 7
  state = method.train(state, batches)
  assert split == [[4, 3]]
  reference = inner_loop_lib.InnerLoop(rule, jit_compile=False).unroll(
      state.model, start, batches)
  for got, want in zip(tf.nest.flatten(state.state),
                       tf.nest.flatten(reference)):
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5,
                               atol=1e-6)
  moved = [np.abs(a.numpy() - b.numpy()).max() for a, b in zip(
      tf.nest.flatten(state.state)[1:], tf.nest.flatten(start)[1:])]
  assert max(moved) > 1e-3


def test_input_permutation_is_drawn_from_the_seed(data, rule):
  def permutation(permute_inputs, seed):
    method = rule_methods.RuleMethod(rule, permute_inputs=permute_inputs,
                                     jit_compile=False)
    state = method.start(_setting(data, seed=seed))
    return state.state['input_permutation'].numpy()

  np.testing.assert_array_equal(permutation(False, 3), np.arange(64))
  permuted = permutation(True, 3)
  assert sorted(permuted) == list(range(64))
  assert not np.array_equal(permuted, np.arange(64))
  np.testing.assert_array_equal(permutation(True, 3), permuted)
  assert not np.array_equal(permutation(True, 4), permuted)


def test_first_layer_is_in_pixel_order(data, rule):
  method = rule_methods.RuleMethod(rule, jit_compile=False)
  state = method.start(_setting(data))
  permutation = state.state['input_permutation'].numpy()
  kernel = state.state['layers'][0]['kernel'].numpy()
  weights = method.first_layer(state)
  assert weights.shape == (64, 8)
  # Row i of the state's kernel weighs pixel permutation[i].
  for row, pixel in enumerate(permutation):
    np.testing.assert_array_equal(weights[pixel], kernel[row])
  # The same linear map: pixels times the returned weights equals the
  # permuted inputs times the state's kernel.
  inputs = data.features[:5]
  np.testing.assert_allclose(inputs @ weights,
                             inputs[:, permutation] @ kernel, rtol=1e-5,
                             atol=1e-7)


def test_rule_method_refuses_another_top_width(data, rule):
  method = rule_methods.RuleMethod(rule, jit_compile=False)
  with pytest.raises(ValueError, match='top width of 4') as error:
    method.start(_setting(data, widths=(8, 5)))
  assert '(8, 5)' in str(error.value)
  with pytest.raises(ValueError, match='top width of 4'):
    rule_methods.RandomInit(rule).start(_setting(data, widths=(8, 5)))


# -------------------------------------------------------------- rule source


def _theta(rule):
  return [v.numpy() for v in rule.trainable_variables]


def _assert_same_theta(first, second):
  assert len(first) == len(second)
  for a, b in zip(first, second):
    np.testing.assert_array_equal(a, b)


@pytest.fixture(scope='module')
def run_dir(tmp_path_factory):
  """A run directory as meta-training lays it out: export/, export_init/.

  The exported θ is θ-init drawn from EXPORT_SEED, moved as by some
  meta-training. export_init/ is a copy of export/ (one export: they take
  seconds), so θ-init read from it differs from any redrawn θ-init and shows
  where it came from. Endpoints are traced for one depth only: loading does
  not depend on them.
  """
  root = tmp_path_factory.mktemp('rule_source') / 'run'
  trained = rule_source.redraw_initial_rule(SMALL_CONFIG, EXPORT_SEED)
  for variable in trained.trainable_variables:
    variable.assign(variable.value + 0.25)
  export.export_rule(trained, str(root / 'export'), depths=(1,),
                     metadata={'step': 9, 'seed': EXPORT_SEED})
  shutil.copytree(root / 'export', root / 'export_init')
  return {'root': str(root), 'trained': _theta(trained)}


def test_load_run_directory_takes_the_exported_theta_init(run_dir):
  source = rule_source.load(run_dir['root'])
  assert source.path == os.path.join(run_dir['root'], 'export')
  assert source.rule.config == SMALL_CONFIG
  assert source.init_rule.config == SMALL_CONFIG
  _assert_same_theta(_theta(source.rule), run_dir['trained'])
  _assert_same_theta(_theta(source.init_rule), run_dir['trained'])
  assert source.init_rule is not source.rule
  assert 'export_init' in source.init_description
  assert 'redrawn' not in source.init_description


def test_load_bare_export_redraws_theta_init_from_its_seed(run_dir):
  bare = os.path.join(run_dir['root'], 'export')
  source = rule_source.load(bare)
  assert source.path == bare
  _assert_same_theta(_theta(source.rule), run_dir['trained'])
  assert 'redrawn' in source.init_description
  assert str(EXPORT_SEED) in source.init_description
  # The θ-init meta-training started from: the seed of the export.
  _assert_same_theta(
      _theta(source.init_rule),
      _theta(rule_source.redraw_initial_rule(SMALL_CONFIG, EXPORT_SEED)))


def test_redraw_initial_rule_is_deterministic():
  first = _theta(rule_source.redraw_initial_rule(SMALL_CONFIG, 11))
  second = _theta(rule_source.redraw_initial_rule(SMALL_CONFIG, 11))
  other = _theta(rule_source.redraw_initial_rule(SMALL_CONFIG, 12))
  _assert_same_theta(first, second)
  assert any(not np.array_equal(a, b) for a, b in zip(first, other))


def test_load_rejects_a_directory_that_is_not_a_rule(tmp_path):
  (tmp_path / 'notes.txt').write_text('not a rule')
  with pytest.raises(export.RuleLoadError, match='is not a learned rule'):
    rule_source.load(str(tmp_path))


def test_load_rejects_a_missing_path(tmp_path):
  missing = str(tmp_path / 'nowhere')
  with pytest.raises(export.RuleLoadError, match='no such directory. Give an '
                     "exported rule .* or a shipped rule's name"):
    rule_source.load(missing)
