"""What every method of a transfer evaluation sees."""

import numpy as np
import pytest

from learned_rule.data import digits
from learned_rule.evaluation import protocol


@pytest.fixture(scope='module')
def data():
  return digits.load_split('test')


def _setting(data, **overrides):
  values = dict(data=data, widths=(8, 4), activation='relu', batch_size=16,
                seed=3, steps=(0, 2, 5), num_draws=2)
  values.update(overrides)
  return protocol.Setting(**values)


def test_chunks_cover_the_steps_and_repeat_per_seed(data):
  setting = _setting(data)
  chunks = list(setting.chunks())
  assert [(step, probe) for step, _, probe in chunks] == [
      (0, True), (2, True), (5, True)]
  assert [len(batches) for _, batches, _ in chunks] == [0, 2, 3]
  assert chunks[1][1].shape == (2, 16, 64)
  again = list(_setting(data).chunks())
  for (_, first, _), (_, second, _) in zip(chunks, again):
    np.testing.assert_array_equal(first, second)
  other = list(_setting(data, seed=4).chunks())
  assert not np.array_equal(chunks[2][1], other[2][1])


def test_the_stream_does_not_depend_on_chunk_size_or_probed_steps(data):
  whole = np.concatenate([b for _, b, _ in _setting(data).chunks()])
  small = list(_setting(data, steps=(0, 3, 5)).chunks(max_chunk=2))
  assert [(step, probe) for step, _, probe in small] == [
      (0, True), (2, False), (3, True), (5, True)]
  np.testing.assert_array_equal(
      whole, np.concatenate([b for _, b, _ in small]))


def test_draws_are_fixed_and_independent_of_the_stream(data):
  first = _setting(data).draws()
  longer = _setting(data, steps=(0, 50)).draws()
  assert len(first) == 2
  for a, b in zip(first, longer):
    np.testing.assert_array_equal(a.support_x, b.support_x)
    np.testing.assert_array_equal(a.query_y, b.query_y)
  assert len(first[0].support_y) == 10 * data.num_classes


@pytest.mark.parametrize('steps, message', [
    ((), 'empty'), ((0, 5, 5), 'strictly increasing'),
    ((3, 1), 'strictly increasing'), ((-1, 2), '>= 0'),
    ((0, 1.5), 'ints')])
def test_bad_step_lists_are_rejected(data, steps, message):
  with pytest.raises(ValueError, match=message):
    _setting(data, steps=steps)


def test_a_field_named_in_errors_says_how_to_fix_it():
  with pytest.raises(ValueError, match=r'TransferConfig.steps must be '
                     r'strictly increasing, got \(4, 2, 0\); give them in '
                     r'order, e.g. \(0, 2, 4\)'):
    protocol.check_steps((4, 2, 0), 'TransferConfig.steps')
  with pytest.raises(ValueError, match='TransferConfig.steps must be a tuple '
                     'of inner steps'):
    protocol.check_steps(5, 'TransferConfig.steps')
  for widths in ('wide', 64, (64, 'x'), (), (64, 0)):
    with pytest.raises(ValueError, match=r'HeldOutEvaluation.widths must be '
                       r'.*e.g. \(64, 64, 32\)'):
      protocol.check_widths(widths, 'HeldOutEvaluation.widths')
  assert protocol.check_widths([np.int64(8), 4]) == (8, 4)


def test_bad_sizes_are_rejected(data):
  with pytest.raises(ValueError, match='batch_size'):
    _setting(data, batch_size=len(data) + 1)
  with pytest.raises(ValueError, match='widths'):
    _setting(data, widths=(8, 0))
  with pytest.raises(ValueError, match='num_draws'):
    _setting(data, num_draws=0)


class _MeanOfBatches(protocol.UnsupervisedMethod):
  """Features: the inputs scaled by how many batches it has seen."""

  name = 'counter'

  def start(self, setting):
    return {'seen': 0, 'input_dim': setting.data.input_dim}

  def train(self, state, batches):
    return {**state, 'seen': state['seen'] + len(batches)}

  def features(self, state, inputs):
    return inputs * state['seen']

  def first_layer(self, state):
    return np.full((state['input_dim'], 2), state['seen'])


def test_unsupervised_method_trains_on_every_chunk_and_probes_each_step(data):
  setting = _setting(data)
  method = _MeanOfBatches()
  trajectory = list(method.trajectory(setting))
  assert [step for step, _ in trajectory] == [0, 2, 5]
  draws = setting.draws()
  for step, features in trajectory:
    assert len(features) == len(draws)
    support, query = features[1]
    np.testing.assert_array_equal(support, draws[1].support_x * step)
    np.testing.assert_array_equal(query, draws[1].query_x * step)
  assert [(step, int(w[0, 0])) for step, w in method.filter_history()] == [
      (0, 0), (2, 2), (5, 5)]
