"""Transforms: resize, greyscale, scale, permutation and augmentation."""

import numpy as np
import pytest

from learned_rule.data import dataset
from learned_rule.data import digits
from learned_rule.data import transforms


def _images(images, name='images'):
  count = len(images)
  return dataset.Dataset(name, images.reshape(count, -1).astype(np.float32),
                         np.zeros(count, np.int64), images.shape[1:], 1)


def test_resize_halves_28_to_14_with_the_tf1_bilinear_kernel():
  images = np.random.default_rng(0).random((3, 28, 28, 1)).astype(np.float32)
  resized = transforms.resize(_images(images), 14)
  assert resized.shape == (14, 14, 1) and resized.input_dim == 196
  # Without half-pixel centres, a 2× downsample samples every other pixel.
  np.testing.assert_allclose(
      resized.features.reshape(3, 14, 14), images[:, ::2, ::2, 0], atol=1e-6)


def test_greyscale_uses_luma_weights_and_keeps_grey_images():
  rgb = np.zeros((2, 4, 4, 3), np.float32)
  rgb[..., 1] = 1.0
  grey = transforms.greyscale(_images(rgb))
  assert grey.shape == (4, 4, 1)
  np.testing.assert_allclose(grey.features, 0.587, atol=1e-6)
  one_channel = _images(rgb[..., :1])
  assert transforms.greyscale(one_channel) is one_channel


def test_scale_divides_by_max_value():
  data = _images(np.full((2, 2, 2, 1), 255.0))
  np.testing.assert_allclose(transforms.scale(data, 255.0).features, 1.0)
  with pytest.raises(ValueError, match='max_value'):
    transforms.scale(data, 0)


def test_augment_is_deterministic_and_reports_amounts():
  images = digits.load_digits().features[:6].reshape(6, 8, 8, 1)
  first, amounts = transforms.augment(images, np.random.default_rng(1))
  again, _ = transforms.augment(images, np.random.default_rng(1))
  np.testing.assert_array_equal(first, again)
  assert amounts.shape == (6, 4)
  assert np.all(amounts[:, :3] >= -1) and np.all(amounts[:, :3] <= 1)
  assert np.all(amounts[:, 3] >= 0) and np.all(amounts[:, 3] <= 1)
  assert not np.allclose(first, images)


def test_augment_without_change_is_the_identity():
  images = digits.load_digits().features[:3].reshape(3, 8, 8, 1)
  same, _ = transforms.augment(images, np.random.default_rng(0),
                               max_shift_fraction=0.0,
                               max_rotation_degrees=0.0, max_noise_stddev=0.0)
  np.testing.assert_allclose(same, images, atol=1e-6)


def test_image_transforms_reject_non_images():
  toy = dataset.Dataset('toy', np.zeros((2, 2), np.float32),
                        np.zeros(2, np.int64), (2,), 1, modality='toy')
  with pytest.raises(ValueError, match='not an image dataset'):
    transforms.resize(toy, 4)
