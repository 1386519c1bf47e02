"""Images of one's own, one sub-directory per class (``imagedir:DIR``).

Layouts, like :mod:`learned_rule.data.text_directory`'s:

* ``DIR/<class>/...``: a fixed stratified split holds out
  :data:`own_data.TEST_FRACTION` of each class as 'test'
  (:func:`own_data.stratified_test_mask` over the files sorted by path).
* ``DIR/train/<class>/...`` and ``DIR/test/<class>/...``: the data's own
  split, used as is; both must have the same classes.

Class names are the sorted sub-directory names. Files are found
recursively; names starting with '.' are skipped, and so (with a warning)
are files that are not PNG or JPEG. Every image, of any size or colour
mode, is read as greyscale, resized bilinearly to ``size`` × ``size``
(default :data:`own_data.IMAGE_SIZE`; non-square images are stretched) and
scaled to [0, 1]. Only the files of the requested split are decoded, after
the per-class counts are checked.
"""

import pathlib

from absl import logging
import numpy as np
from PIL import Image

from learned_rule.data import dataset
from learned_rule.data import own_data

# The formats read, by file suffix (any case).
SUFFIXES = ('.png', '.jpg', '.jpeg')
# What PIL raises for a file it cannot decode: not an image (OSError),
# truncated data (OSError, SyntaxError, EOFError), a malformed header
# (ValueError) or a decompression bomb.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError,
                  Image.DecompressionBombError)
_SHOWN = 5
_LAYOUT = ('put the images of each class in a sub-directory of its own, '
           'e.g. DIR/cat/1.png and DIR/dog/1.png, then name the dataset '
           'imagedir:DIR')


def _visible_files(directory):
  return sorted(
      path for path in directory.rglob('*')
      if path.is_file() and not any(
          part.startswith('.') for part in path.relative_to(directory).parts))


def _listing(name, root):
  """``{class name: [image paths]}`` of the class sub-directories of root."""
  classes = sorted(path for path in root.iterdir()
                   if path.is_dir() and not path.name.startswith('.'))
  loose = sum(path.suffix.lower() in SUFFIXES for path in root.iterdir())
  fix = _LAYOUT + (f' ({loose} image(s) lie directly in {root})' if loose
                   else '')
  own_data.check_classes(name, [path.name for path in classes], str(root),
                         fix)
  listing, skipped = {}, []
  for directory in classes:
    files = []
    for path in _visible_files(directory):
      (files if path.suffix.lower() in SUFFIXES else skipped).append(path)
    if not files:
      raise own_data.OwnDataError(
          f'{name}: class {directory.name!r} has no PNG or JPEG files (in '
          f'{directory}); add images to it or remove the directory.')
    listing[directory.name] = files
  if skipped:
    logging.warning('%s: skipped %d file(s) that are not PNG or JPEG, e.g. %s.',
                    name, len(skipped), ', '.join(map(str, skipped[:_SHOWN])))
  return listing


def _flatten(listing, class_names):
  paths, labels = [], []
  for label, class_name in enumerate(class_names):
    paths += listing[class_name]
    labels += [label] * len(listing[class_name])
  return paths, np.asarray(labels, np.int64)


def read_image(path, size, name='image directory'):
  """``path`` as greyscale float32 [size, size] in [0, 1].

  Args:
    path: The image file.
    size: Side of the square result.
    name: The dataset's name, for the message.

  Raises:
    OwnDataError: The file cannot be decoded; names it.
  """
  try:
    with Image.open(path) as image:
      image.load()
      grey = image.convert('L').resize((size, size),
                                       Image.Resampling.BILINEAR)
  except _DECODE_ERRORS as error:
    raise own_data.OwnDataError(
        f'{name}: cannot read the image {path} ({type(error).__name__}: '
        f'{error}); it is not a readable PNG or JPEG file (truncated or '
        f'corrupt?). Replace it with a valid image or delete it.') from error
  return np.asarray(grey, np.float32) / 255.0


def _split_files(name, root, split):
  """``(paths, labels, class_names, pre_split)`` of ``split``."""
  train_dir, test_dir = root / 'train', root / 'test'
  pre_split = train_dir.is_dir() or test_dir.is_dir()
  if not pre_split:
    listing = _listing(name, root)
    class_names = sorted(listing)
    paths, labels = _flatten(listing, class_names)
    if split != 'all':
      test = own_data.stratified_test_mask(labels)
      keep = test if split == 'test' else ~test
      paths = [path for path, kept in zip(paths, keep) if kept]
      labels = labels[keep]
    return paths, labels, class_names, pre_split
  if not (train_dir.is_dir() and test_dir.is_dir()):
    present, absent = ((train_dir, test_dir) if train_dir.is_dir() else
                       (test_dir, train_dir))
    raise own_data.OwnDataError(
        f'{name}: {root} has {present.name}/ but no {absent.name}/; a '
        f'pre-split image directory needs both (or neither, to be split '
        f'here).')
  listings = {'train': _listing(name, train_dir),
              'test': _listing(name, test_dir)}
  class_names = sorted(listings['train'])
  if class_names != sorted(listings['test']):
    raise own_data.OwnDataError(
        f'{name}: the classes of {train_dir} ({class_names}) and {test_dir} '
        f'({sorted(listings["test"])}) differ; give both the same class '
        f'sub-directories.')
  paths, labels = [], []
  for part in (('train', 'test') if split == 'all' else (split,)):
    part_paths, part_labels = _flatten(listings[part], class_names)
    paths += part_paths
    labels.append(part_labels)
  return paths, np.concatenate(labels), class_names, pre_split


def load(name, path, split='train', size=own_data.IMAGE_SIZE,
         min_per_class=own_data.MIN_PER_CLASS):
  """One split of an image directory.

  Args:
    name: The dataset's name, e.g. 'imagedir:~/shapes'.
    path: The directory.
    split: 'train', 'test' or 'all'.
    size: Side of the square images.
    min_per_class: Examples every class of the split needs.

  Returns:
    A :class:`Dataset`, modality 'image', shape (size, size, 1).

  Raises:
    OwnDataError: A missing directory, fewer than two classes, a class
      without images or with too few, an unreadable image.
  """
  own_data.check_split(split)
  root = pathlib.Path(path).expanduser()
  own_data.check_path(name, root, directory=True)
  paths, labels, class_names, pre_split = _split_files(name, root, split)
  own_data.check_per_class(name, split, labels, class_names, min_per_class,
                           str(root), pre_split)
  logging.info('%s: reading %d images of %d classes (%s split).', name,
               len(paths), len(class_names), split)
  images = np.stack([read_image(file, size, name) for file in paths])
  return dataset.Dataset(
      name=name, features=images.reshape(len(paths), -1), labels=labels,
      shape=(size, size, 1), num_classes=len(class_names), modality='image',
      split=split, class_names=tuple(class_names))
