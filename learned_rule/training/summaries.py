"""TensorBoard output of meta-training: scalars, text and filter images.

Summaries go through ``tf.summary.write`` with the metadata of TensorBoard's
scalar, text and image plugins, the records that ``tf.summary.scalar``,
``text`` and ``image`` write. Those three live in the TensorBoard package,
which TensorFlow 2.21 does not install; written this way the summaries need
only TensorFlow, and TensorBoard shows them as its own. Each is a tensor
summary: a float32 scalar, a string, or ``[width, height, png]`` strings.

Also writes the operative gin config to ``<run_dir>/config.gin`` and as a
text summary (DESIGN §4, convention 3).
"""

import math
import os

import gin
import numpy as np
import tensorflow as tf

from tensorflow.core.framework import summary_pb2  # pylint: disable=g-direct-tensorflow-import

from learned_rule.storage import atomic_files
from learned_rule.reporting import hparams
from learned_rule.storage import run_dirs

CONFIG_TAG = 'config/operative_gin'
SCALARS_PLUGIN = 'scalars'
TEXT_PLUGIN = 'text'
IMAGES_PLUGIN = 'images'


def _metadata(plugin_name):
  # Version 0 of each plugin's data is the empty message, so the content
  # stays empty.
  return summary_pb2.SummaryMetadata(
      plugin_data=summary_pb2.SummaryMetadata.PluginData(
          plugin_name=plugin_name))


def _image_shape(image_shape):
  if len(image_shape) == 2:
    image_shape = (*image_shape, 1)
  if len(image_shape) != 3 or image_shape[2] not in (1, 3):
    raise ValueError(
        f'image_shape must be (H, W), (H, W, 1) or (H, W, 3), got '
        f'{image_shape}.')
  return tuple(int(size) for size in image_shape)


def filter_grid(kernel, image_shape, permutation=None, max_filters=None):
  """Tiles the columns of a first-layer kernel into one image.

  Args:
    kernel: [n_in, n_out] array with n_in = H * W * C; column j holds the
      weights of unit j (its receptive field).
    image_shape: (H, W) or (H, W, C) with C 1 or 3, the shape of one input
      image as the kernel's rows flatten it (row-major).
    permutation: Optional int [n_in], the input permutation of the base
      model: row i of the kernel weighs pixel ``permutation[i]`` (the model
      sees ``tf.gather(x, permutation, axis=1)``). Its inverse is applied so
      that the filters are shown in pixel space.
    max_filters: Show at most this many columns (the first ones).

  Returns:
    float32 [1, rows * H, cols * W, C] in [0, 1]: each column scaled to
    [0, 1] on its own (a constant one is 0.5), laid out row-major on a grid
    of ``cols = ceil(sqrt(n_out))`` columns; unused tiles are 0.
  """
  height, width, channels = _image_shape(image_shape)
  kernel = np.asarray(kernel, np.float64)
  n_in = height * width * channels
  if kernel.ndim != 2 or kernel.shape[0] != n_in:
    raise ValueError(f'kernel must be [{n_in}, n_out] for image shape '
                     f'{image_shape}, got {kernel.shape}.')
  if permutation is not None:
    permutation = np.asarray(permutation)
    if not np.array_equal(np.sort(permutation), np.arange(n_in)):
      raise ValueError(f'permutation is not a permutation of {n_in} inputs.')
    kernel = kernel[np.argsort(permutation)]
  if max_filters is not None:
    kernel = kernel[:, :max_filters]
  low = kernel.min(axis=0)
  span = kernel.max(axis=0) - low
  scaled = np.where(span > 0, (kernel - low) / np.where(span > 0, span, 1.0),
                    0.5)
  scaled = np.clip(np.nan_to_num(scaled, nan=0.0), 0.0, 1.0)

  count = scaled.shape[1]
  cols = max(1, math.ceil(math.sqrt(count)))
  rows = max(1, math.ceil(count / cols))
  tiles = np.zeros((rows * cols, height, width, channels), np.float32)
  tiles[:count] = scaled.T.reshape(count, height, width, channels)
  grid = tiles.reshape(rows, cols, height, width, channels)
  grid = grid.transpose(0, 2, 1, 3, 4).reshape(rows * height, cols * width,
                                               channels)
  return grid[np.newaxis]


class SummaryWriter:
  """Writes TensorBoard summaries of one run into ``logdir``.

  Usable as a context manager, which closes it.

  Args:
    logdir: The event file directory (created if needed).
  """

  def __init__(self, logdir):
    self.logdir = os.fspath(logdir)
    self._writer = tf.summary.create_file_writer(self.logdir)

  def _write(self, step, tag, tensor, plugin_name):
    with self._writer.as_default():
      tf.summary.write(tag, tensor, step=int(step),
                       metadata=_metadata(plugin_name))

  def scalars(self, step, values):
    """Writes each ``tag: value`` of ``values`` as a float32 scalar.

    None values are skipped (a metric not computed at this step);
    non-finite ones are written as they are.
    """
    for tag, value in values.items():
      if value is not None:
        self._write(step, tag, tf.constant(float(value), tf.float32),
                    SCALARS_PLUGIN)

  def settings(self, values):
    """Writes the run's key settings for TensorBoard's HParams dashboard."""
    hparams.write_settings(self._writer, values)

  def text(self, step, tag, string):
    """Writes ``string`` (rendered as markdown by TensorBoard)."""
    self._write(step, tag, tf.constant(str(string)), TEXT_PLUGIN)

  def image(self, step, tag, image):
    """Writes one image, float [H, W, C] or [1, H, W, C] in [0, 1]."""
    image = np.asarray(image)
    if image.ndim == 4:
      if image.shape[0] != 1:
        raise ValueError(f'Expected one image, got {image.shape[0]}.')
      image = image[0]
    pixels = np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)
    png = tf.io.encode_png(pixels).numpy()
    height, width = pixels.shape[:2]
    tensor = tf.constant([str(width).encode(), str(height).encode(), png])
    self._write(step, tag, tensor, IMAGES_PLUGIN)

  def filters(self, step, tag, kernel, image_shape, permutation=None,
              max_filters=None):
    """Writes first-layer receptive fields as one grid image.

    Arguments as :func:`filter_grid`.

    Returns:
      The grid written, float32 [1, rows * H, cols * W, C].
    """
    grid = filter_grid(kernel, image_shape, permutation=permutation,
                       max_filters=max_filters)
    self.image(step, tag, grid)
    return grid

  def flush(self):
    self._writer.flush()

  def close(self):
    self._writer.close()

  def __enter__(self):
    return self

  def __exit__(self, *unused_exc_info):
    self.close()


def config_markdown(config):
  """A gin config as a markdown code block (each line indented 4 spaces)."""
  return '\n'.join('    ' + line for line in config.splitlines())


def write_operative_config(run_dir, writer=None, step=0):
  """Writes gin's operative config to ``run_dir/config.gin`` and TensorBoard.

  Call it once every configurable of the run has been built (the
  operative config only holds the configurables that have been called).
  The file is replaced atomically.

  Args:
    run_dir: The run directory (created if needed).
    writer: A :class:`SummaryWriter`; None writes only the file.
    step: The step of the text summary (tag ``config/operative_gin``).

  Returns:
    The path of ``config.gin``.
  """
  config = gin.operative_config_str()
  path = atomic_files.write_text(
      run_dirs.path(os.fspath(run_dir), run_dirs.OPERATIVE_CONFIG), config)
  if writer is not None:
    writer.text(step, CONFIG_TAG, config_markdown(config))
  return path
