"""Arrays of one's own in a NumPy ``.npz`` file (``npz:FILE``).

The file holds either

* ``images`` and ``labels``: a fixed stratified split holds out
  :data:`own_data.TEST_FRACTION` of each class as 'test'; or
* ``train_images``, ``train_labels``, ``test_images``, ``test_labels``: the
  data's own split, used as is; both must have the same classes,

as written by ``numpy.savez(FILE, images=images, labels=labels)``.

``images`` is [N, H, W] or [N, H, W, C] with C = 1 or 3 (modality 'image':
meta-training may resize and greyscale it, spec §6.2) or [N, D] (modality
'features': used as is, never resized or augmented). uint8 values are
divided by 255; other numbers are used as they are. ``labels`` is [N] of
ints or strings; class names are the sorted distinct labels.
"""

import pathlib
import zipfile

import numpy as np

from learned_rule.data import dataset
from learned_rule.data import own_data

ONE_SET = ('images', 'labels')
PRE_SPLIT = ('train_images', 'train_labels', 'test_images', 'test_labels')
# Largest value of uint8 pixels, scaled to 1.
_MAX_UINT8 = 255.0
_WRITE = 'write it with numpy.savez(FILE, images=images, labels=labels)'


def _read(name, path):
  """The arrays of :data:`ONE_SET` or :data:`PRE_SPLIT` in ``path``."""
  try:
    archive = np.load(path, allow_pickle=False)
  except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
    raise own_data.OwnDataError(
        f'{name}: cannot read {path} as a NumPy .npz file ({error}); '
        f'{_WRITE}.') from error
  if not isinstance(archive, np.lib.npyio.NpzFile):
    raise own_data.OwnDataError(
        f'{name}: {path} holds one array, not an .npz archive of named '
        f'arrays; {_WRITE}.')
  with archive:
    found = set(archive.files)
    wanted = (PRE_SPLIT if found & set(PRE_SPLIT) and
              not found & set(ONE_SET) else ONE_SET)
    missing = [key for key in wanted if key not in found]
    if missing:
      raise own_data.OwnDataError(
          f'{name}: {path} has no array {", ".join(missing)} (it has '
          f'{sorted(found) or "none"}); it needs images and labels (or '
          f'{", ".join(PRE_SPLIT)}): {_WRITE}.')
    arrays = {}
    for key in wanted:
      try:
        arrays[key] = archive[key]
      except ValueError as error:  # An object array: allow_pickle=False.
        raise own_data.OwnDataError(
            f'{name}: the array {key!r} of {path} holds Python objects, '
            f'which is what NumPy saves for images of different shapes or a '
            f'ragged list; resize every image to one shape and save one '
            f'numeric [N, H, W] array.') from error
  return arrays


def _features(name, path, key, images):
  """``(features [N, D] float32, shape, modality)`` of an images array."""
  if images.ndim == 4 and images.shape[-1] in (1, 3):
    shape, modality = images.shape[1:], 'image'
  elif images.ndim == 3:
    shape, modality = images.shape[1:] + (1,), 'image'
  elif images.ndim == 2:
    shape, modality = images.shape[1:], 'features'
  else:
    raise own_data.OwnDataError(
        f'{name}: {key!r} in {path} has shape {images.shape}; it must be '
        f'[N, H, W], [N, H, W, 1], [N, H, W, 3] or [N, D].')
  if not len(images) or not np.prod(shape):
    raise own_data.OwnDataError(f'{name}: {key!r} in {path} is empty (shape '
                                f'{images.shape}); give it examples.')
  if images.dtype.kind not in 'uifb':
    raise own_data.OwnDataError(
        f'{name}: {key!r} in {path} has dtype {images.dtype}; it must hold '
        f'numbers (uint8 pixels or floats).')
  features = images.reshape(len(images), -1).astype(np.float32)
  if images.dtype == np.uint8:
    features /= _MAX_UINT8
  if not np.isfinite(features).all():
    raise own_data.OwnDataError(f'{name}: {key!r} in {path} holds NaN or '
                                f'infinite values; replace them.')
  return features, tuple(int(d) for d in shape), modality


def _labels(name, path, key, labels, count, images_key):
  """``labels`` checked: one per example, ints or strings."""
  if labels.shape != (count,):
    raise own_data.OwnDataError(
        f'{name}: {key!r} in {path} has shape {labels.shape} but '
        f'{images_key!r} has {count} examples; give exactly one label per '
        f'example, a [{count}] array.')
  integral = labels.dtype.kind == 'f' and np.all(np.mod(labels, 1) == 0)
  if labels.dtype.kind not in 'iubUS' and not integral:
    raise own_data.OwnDataError(
        f'{name}: {key!r} in {path} has dtype {labels.dtype}; labels must '
        f'be integers or strings.')
  return labels.astype(np.int64) if integral else labels


def load(name, path, split='train', min_per_class=own_data.MIN_PER_CLASS):
  """One split of an ``.npz`` file.

  Args:
    name: The dataset's name, e.g. 'npz:data.npz'.
    path: The file.
    split: 'train', 'test' or 'all'.
    min_per_class: Examples every class of the split needs.

  Returns:
    A :class:`Dataset` (see the module docstring for shapes).

  Raises:
    OwnDataError: A missing or unreadable file, missing arrays, bad shapes
      or dtypes, fewer than two classes or too few examples of one.
  """
  own_data.check_split(split)
  path = pathlib.Path(path).expanduser()
  own_data.check_path(name, path, directory=False)
  arrays = _read(name, path)
  pre_split = 'train_images' in arrays
  parts = {}
  for part in (('train', 'test') if pre_split else ('all',)):
    prefix = f'{part}_' if pre_split else ''
    images_key, labels_key = f'{prefix}images', f'{prefix}labels'
    features, shape, modality = _features(name, path, images_key,
                                          arrays[images_key])
    labels = _labels(name, path, labels_key, arrays[labels_key],
                     len(features), images_key)
    parts[part] = (features, labels, shape, modality)
  if pre_split:
    (_, train_labels, train_shape, _), (_, test_labels, test_shape, _) = (
        parts['train'], parts['test'])
    if train_shape != test_shape:
      raise own_data.OwnDataError(
          f'{name}: train_images in {path} are {train_shape} but test_images '
          f'are {test_shape}; save both splits at one shape.')
    if set(np.unique(train_labels)) != set(np.unique(test_labels)):
      raise own_data.OwnDataError(
          f'{name}: the classes of train_labels '
          f'({np.unique(train_labels).tolist()}) and test_labels '
          f'({np.unique(test_labels).tolist()}) in {path} differ; give both '
          f'splits the same classes.')
  features, labels, shape, modality = (
      parts['all'] if not pre_split else
      [np.concatenate([parts['train'][i], parts['test'][i]])
       for i in range(2)] + list(parts['train'][2:]))
  values = np.unique(labels)
  class_names = tuple(str(value) for value in values)
  own_data.check_classes(name, class_names, str(path),
                         'give it labels of two classes or more')
  ids = np.searchsorted(values, labels).astype(np.int64)
  if pre_split:
    chosen = {'train': slice(0, len(parts['train'][1])),
              'test': slice(len(parts['train'][1]), None),
              'all': slice(None)}[split]
  else:
    test = own_data.stratified_test_mask(ids)
    chosen = {'train': ~test, 'test': test,
              'all': np.ones(len(ids), bool)}[split]
  features, ids = features[chosen], ids[chosen]
  own_data.check_per_class(name, split, ids, class_names, min_per_class,
                           str(path), pre_split)
  return dataset.Dataset(
      name=name, features=features, labels=ids, shape=shape,
      num_classes=len(class_names), modality=modality, split=split,
      class_names=class_names)
