"""Transforms of in-memory datasets: resize, greyscale, scaling, permutation,
and augmentation that can report its amounts as regression targets.

All of them return a new :class:`Dataset` (or arrays) and never modify
their input.
"""

import dataclasses

import numpy as np
import tensorflow as tf

# Augmentation magnitudes: the paper uses shifts, rotations and noise but
# does not give their sizes (spec §6.2); these are ours.
MAX_SHIFT_FRACTION = 0.125      # Up to 1/8 of the image side (2 px at 16×16).
MAX_ROTATION_DEGREES = 15.0
MAX_NOISE_STDDEV = 0.1
# Luma weights of ITU-R BT.601, as tf.image.rgb_to_grayscale uses.
_LUMA = np.array([0.2989, 0.5870, 0.1140], np.float32)


def images_of(data):
  """Features of an image dataset as ``[N, H, W, C]``."""
  if data.modality != 'image' or len(data.shape) != 3:
    raise ValueError(f'{data.name} is not an image dataset (modality '
                     f'{data.modality!r}, shape {data.shape}).')
  return data.features.reshape((-1,) + tuple(data.shape))


def _with_images(data, images, **changes):
  flat = images.reshape(len(images), -1).astype(np.float32)
  return dataclasses.replace(data, features=flat,
                             shape=tuple(images.shape[1:]), **changes)


def resize(data, size):
  """Bilinear resize to ``size`` × ``size``, e.g. 28 → 14 (spec §7.1).

  Uses the TF1 bilinear kernel (no half-pixel centres), the default of the
  resize op the released TinyMnist pipeline called.
  """
  if int(size) != size or size <= 0:
    raise ValueError(f'`size` must be a positive int, got {size!r}.')
  images = images_of(data)
  resized = tf.raw_ops.ResizeBilinear(
      images=images, size=[size, size], align_corners=False,
      half_pixel_centers=False).numpy()
  return _with_images(data, resized)


def greyscale(data):
  """RGB → one luma channel; greyscale input is returned unchanged."""
  images = images_of(data)
  if images.shape[-1] == 1:
    return data
  if images.shape[-1] != 3:
    raise ValueError(f'{data.name} has {images.shape[-1]} channels; '
                     f'greyscale needs 1 or 3.')
  return _with_images(data, images @ _LUMA[:, None])


def scale(data, max_value):
  """Divides every feature by ``max_value`` (e.g. 255 → values in [0, 1])."""
  if not max_value > 0:
    raise ValueError(f'`max_value` must be > 0, got {max_value}.')
  return dataclasses.replace(
      data, features=(data.features / max_value).astype(np.float32))


def permutation_for(input_dim, seed):
  """The fixed input permutation of spec §2.3 (identity when seed is None).

  The base model (``BaseMLP``) applies it to its inputs, :func:`permute`
  to a dataset.
  """
  if seed is None:
    return np.arange(input_dim, dtype=np.int32)
  return np.random.RandomState(seed).permutation(input_dim).astype(np.int32)


def permute(data, seed):
  """Applies one fixed random permutation of the features (spec §2.3).

  The same permutation is applied to every example, so support, query and
  unlabeled batches drawn from the result all share it.

  Returns:
    ``(dataset, permutation)``.
  """
  permutation = permutation_for(data.input_dim, seed)
  return dataclasses.replace(data, features=data.features[:, permutation],
                             shape=(data.input_dim,)), permutation


def augment(images, rng, max_shift_fraction=MAX_SHIFT_FRACTION,
            max_rotation_degrees=MAX_ROTATION_DEGREES,
            max_noise_stddev=MAX_NOISE_STDDEV):
  """Random shift, rotation and additive noise per image (spec §6.2).

  Args:
    images: ``[N, H, W, C]`` float.
    rng: ``np.random.Generator``.
    max_shift_fraction: Largest shift as a fraction of the image side.
    max_rotation_degrees: Largest rotation.
    max_noise_stddev: Largest noise standard deviation.

  Returns:
    ``(augmented, amounts)``: the images, and float32 ``[N, 4]`` amounts
    (shift x, shift y, rotation, noise std), each divided by its maximum so
    it lies in [-1, 1] ([0, 1] for noise): regression targets for the
    meta-objective.
  """
  from scipy import ndimage  # pylint: disable=g-import-not-at-top
  images = np.asarray(images, np.float32)
  count, height, width = images.shape[:3]
  amounts = np.stack([rng.uniform(-1, 1, count), rng.uniform(-1, 1, count),
                      rng.uniform(-1, 1, count), rng.uniform(0, 1, count)],
                     axis=1).astype(np.float32)
  augmented = np.empty_like(images)
  for i, (dx, dy, angle, noise) in enumerate(amounts):
    image = ndimage.rotate(images[i], angle * max_rotation_degrees,
                           axes=(0, 1), reshape=False, order=1,
                           mode='constant')
    image = ndimage.shift(
        image, (dy * max_shift_fraction * height,
                dx * max_shift_fraction * width, 0), order=1,
        mode='constant')
    augmented[i] = image + rng.normal(
        0.0, noise * max_noise_stddev, image.shape)
  return augmented, amounts
