"""Tests of learned_rule.training.summaries.

The event files are read back with TensorFlow's own protos, and, where the
TensorBoard package is installed, with TensorBoard's EventAccumulator.
"""

import collections
import os

import gin
import numpy as np
import pytest
import tensorflow as tf

from learned_rule.training import summaries

from tensorflow.core.util import event_pb2  # pylint: disable=g-direct-tensorflow-import


def _read_events(logdir):
  """{tag: [(step, value, plugin_name)]} of every tensor summary."""
  found = collections.defaultdict(list)
  for name in sorted(os.listdir(logdir)):
    if 'tfevents' not in name:
      continue
    for record in tf.data.TFRecordDataset(os.path.join(logdir, name)):
      event = event_pb2.Event.FromString(record.numpy())
      for value in event.summary.value:
        found[value.tag].append((event.step, tf.make_ndarray(value.tensor),
                                 value.metadata.plugin_data.plugin_name))
  return found


def _decode_image(tensor):
  """[width, height, png] strings → uint8 [H, W, C]."""
  image = tf.io.decode_png(tensor[2]).numpy()
  assert (int(tensor[0]), int(tensor[1])) == (image.shape[1], image.shape[0])
  return image


def test_scalars_and_text_read_back(tmp_path):
  with summaries.SummaryWriter(tmp_path) as writer:
    writer.scalars(1, {'meta/loss': 2.5, 'meta/accuracy': np.float32(0.25),
                       'probe/accuracy': None})
    writer.scalars(2, {'meta/loss': tf.constant(1.25), 'meta/grad': np.nan})
    writer.text(2, 'notes', 'hello *world*')

  events = _read_events(tmp_path)
  assert set(events) == {'meta/loss', 'meta/accuracy', 'meta/grad', 'notes'}
  assert [(step, float(value), plugin) for step, value, plugin
          in events['meta/loss']] == [(1, 2.5, 'scalars'),
                                      (2, 1.25, 'scalars')]
  assert events['meta/accuracy'][0][1].dtype == np.float32
  assert np.isnan(events['meta/grad'][0][1])
  step, value, plugin = events['notes'][0]
  assert (step, value.item(), plugin) == (2, b'hello *world*', 'text')


def test_filter_grid_tiles_columns_row_major():
  images = np.arange(5 * 6, dtype=np.float64).reshape(5, 2, 3)
  kernel = images.reshape(5, 6).T  # Column j is image j, flattened.
  grid = summaries.filter_grid(kernel, (2, 3))

  assert grid.shape == (1, 2 * 2, 3 * 3, 1)  # 5 filters on a 2 x 3 grid.
  assert grid.dtype == np.float32
  ramp = np.linspace(0.0, 1.0, 6).reshape(2, 3)
  for j in range(5):
    row, col = divmod(j, 3)
    tile = grid[0, row * 2:(row + 1) * 2, col * 3:(col + 1) * 3, 0]
    np.testing.assert_allclose(tile, ramp, atol=1e-6)
  np.testing.assert_array_equal(grid[0, 2:4, 6:9, 0], 0.0)  # The 6th tile.


def test_filter_grid_normalises_each_column_and_a_constant_one():
  kernel = np.stack([np.array([-3.0, 1.0, 5.0, 1.0]), np.full(4, 7.0)], 1)
  grid = summaries.filter_grid(kernel, (2, 2, 1))
  np.testing.assert_allclose(grid[0, :, :2, 0], [[0.0, 0.5], [1.0, 0.5]])
  np.testing.assert_allclose(grid[0, :, 2:, 0], 0.5)


def test_filter_grid_undoes_the_input_permutation():
  rng = np.random.default_rng(0)
  image_shape = (4, 5, 3)
  originals = rng.uniform(size=(3, *image_shape))
  pixel_kernel = originals.reshape(3, -1).T
  permutation = rng.permutation(pixel_kernel.shape[0])
  # The model sees x[:, permutation], so its kernel row i weighs pixel
  # permutation[i].
  kernel = pixel_kernel[permutation]
  inputs = rng.normal(size=(2, pixel_kernel.shape[0]))
  np.testing.assert_allclose(inputs[:, permutation] @ kernel,
                             inputs @ pixel_kernel)

  grid = summaries.filter_grid(kernel, image_shape, permutation=permutation)
  scrambled = summaries.filter_grid(kernel, image_shape)
  assert grid.shape == (1, 2 * 4, 2 * 5, 3)  # 3 filters on a 2 x 2 grid.
  for j, original in enumerate(originals):
    expected = (original - original.min()) / np.ptp(original)
    row, col = divmod(j, 2)
    tile = np.s_[0, row * 4:(row + 1) * 4, col * 5:(col + 1) * 5]
    np.testing.assert_allclose(grid[tile], expected, atol=1e-6)
    assert not np.allclose(scrambled[tile], expected)


def test_filter_grid_refuses_bad_shapes():
  with pytest.raises(ValueError, match='kernel must be'):
    summaries.filter_grid(np.zeros((10, 2)), (3, 3))
  with pytest.raises(ValueError, match='image_shape'):
    summaries.filter_grid(np.zeros((8, 2)), (2, 2, 2))
  with pytest.raises(ValueError, match='not a permutation'):
    summaries.filter_grid(np.zeros((4, 2)), (2, 2), permutation=[0, 0, 1, 2])


def test_filters_written_as_a_png_image(tmp_path):
  rng = np.random.default_rng(1)
  originals = rng.uniform(size=(4, 3, 2))
  pixel_kernel = originals.reshape(4, 6).T
  permutation = rng.permutation(6)
  with summaries.SummaryWriter(tmp_path) as writer:
    grid = writer.filters(7, 'filters/layer_0', pixel_kernel[permutation],
                          (3, 2), permutation=permutation, max_filters=3)

  assert grid.shape == (1, 2 * 3, 2 * 2, 1)
  [(step, tensor, plugin)] = _read_events(tmp_path)['filters/layer_0']
  assert (step, plugin) == (7, 'images')
  image = _decode_image(tensor)
  assert image.shape == (6, 4, 1) and image.dtype == np.uint8
  np.testing.assert_array_equal(image, np.round(grid[0] * 255))
  first = (originals[0] - originals[0].min()) / np.ptp(originals[0])
  np.testing.assert_allclose(image[0:3, 0:2, 0] / 255, first, atol=1 / 255)
  np.testing.assert_array_equal(image[3:6, 2:4], 0)  # Only 3 shown.


@gin.configurable('test_summaries_scaled')
def _scaled(value, factor=1.0):
  return value * factor


def test_write_operative_config_writes_the_file_and_the_text(tmp_path):
  gin.parse_config('test_summaries_scaled.factor = 3.5')
  assert _scaled(2.0) == 7.0
  run_dir = tmp_path / 'run'
  with summaries.SummaryWriter(run_dir / 'train') as writer:
    path = summaries.write_operative_config(run_dir, writer, step=1)

  assert path == os.path.join(str(run_dir), 'config.gin')
  written = open(path).read()
  assert written == gin.operative_config_str()
  assert 'test_summaries_scaled.factor = 3.5' in written
  assert sorted(os.listdir(run_dir)) == ['config.gin', 'train']
  [(step, text, plugin)] = _read_events(run_dir / 'train')[
      summaries.CONFIG_TAG]
  assert (step, plugin) == (1, 'text')
  assert '    test_summaries_scaled.factor = 3.5' in text.item().decode()

  # Written again (e.g. on resume), the file is replaced, not appended to.
  gin.clear_config()
  summaries.write_operative_config(run_dir)
  assert 'factor' not in open(path).read()


def test_tensorboard_reads_the_summaries(tmp_path):
  from tensorboard.backend.event_processing import event_accumulator  # pylint: disable=g-import-not-at-top
  with summaries.SummaryWriter(tmp_path) as writer:
    writer.scalars(3, {'meta/loss': 0.5})
    writer.text(3, 'notes', 'text')
    grid = writer.filters(3, 'filters', np.eye(4), (2, 2))

  accumulator = event_accumulator.EventAccumulator(
      str(tmp_path), size_guidance={event_accumulator.TENSORS: 0})
  accumulator.Reload()
  # TF 2 summaries are tensor summaries; TensorBoard tells them apart by the
  # plugin named in their metadata.
  assert sorted(accumulator.Tags()['tensors']) == ['filters', 'meta/loss',
                                                   'notes']
  plugins = {tag: accumulator.SummaryMetadata(tag).plugin_data.plugin_name
             for tag in accumulator.Tags()['tensors']}
  assert plugins == {'meta/loss': 'scalars', 'notes': 'text',
                     'filters': 'images'}
  [loss] = accumulator.Tensors('meta/loss')
  assert (loss.step, tf.make_ndarray(loss.tensor_proto)) == (3, 0.5)
  [notes] = accumulator.Tensors('notes')
  assert tf.make_ndarray(notes.tensor_proto).item() == b'text'
  [image] = accumulator.Tensors('filters')
  np.testing.assert_array_equal(
      _decode_image(tf.make_ndarray(image.tensor_proto)),
      np.round(grid[0] * 255))
