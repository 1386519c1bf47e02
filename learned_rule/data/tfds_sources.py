"""TFDS-backed datasets: MNIST, Fashion-MNIST, CIFAR-10 and IMDB (spec §7.2).

Each loader reads one split of a dataset that TensorFlow Datasets has already
prepared on disk and returns it as an in-memory :class:`Dataset`:

* ``mnist``, ``fashion_mnist`` (28×28×1) and ``cifar10`` (32×32×3, or
  32×32×1 with ``greyscale=True``): pixels scaled to [0, 1], flattened
  float32;
* ``imdb_reviews`` (TFDS config ``plain_text``): a bag of words over a
  1000-word vocabulary built from the *train* split only (spec §7.2; see
  :mod:`learned_rule.data.text`), word presence by default, counts with
  ``counts=True``.

Splits use TFDS's names and slicing syntax ('train', 'test', 'train[:80%]').
``data_dir`` defaults to TFDS's own default, which honours ``TFDS_DATA_DIR``.

The loaders never download. Offline, ``tfds.load`` on a dataset that is not
prepared stalls for minutes on DNS retries before failing (DESIGN.md §5), so
each loader first builds the builder without touching GCS
(``tfds.builder(..., try_gcs=False)``) and asks ``builder.is_prepared()``; if
the data is not there it raises :class:`DatasetNotAvailableError` at once,
naming the directory and how to prepare the data offline
(``learned-rule-prepare-data``, :mod:`learned_rule.data.archives`) or online
(``tfds build``).

TensorFlow Datasets is imported on first use, so that importing this module
(and the registry) stays cheap.
"""

import functools

import numpy as np

from learned_rule import console_scripts
from learned_rule import suggestions
from learned_rule.data import dataset
from learned_rule.data import text

# Our dataset name -> TFDS builder name (with config where there is one).
TFDS_NAMES = {
    'mnist': 'mnist',
    'fashion_mnist': 'fashion_mnist',
    'cifar10': 'cifar10',
    'imdb_reviews': 'imdb_reviews/plain_text',
}
# Splits of the roles in the registry: meta-training may read 'train'; 'test'
# is held out for evaluation (spec §7.2 evaluates on held-out data).
META_TRAIN_SPLIT = 'train'
HELD_OUT_SPLIT = 'test'
# The split whose texts define the IMDB vocabulary (spec §7.2: "bag of words
# with 1K words"; building it from train only keeps test text out of the
# features).
VOCABULARY_SPLIT = 'train'
# Image pixels are uint8; dividing by 255 maps them to [0, 1] as the released
# code does for MNIST (spec §7.1: "pixels /255 (no mean subtraction)").
MAX_PIXEL = 255.0
# ITU-R BT.601 luma weights, the ones tf.image.rgb_to_grayscale uses.
LUMA_WEIGHTS = (0.2989, 0.5870, 0.1140)
# Examples per batch when reading a split into memory.
READ_BATCH = 10000
# The command that prepares data offline, named in every "not prepared" error.
PREPARE_COMMAND = console_scripts.command('prepare_data')


class DatasetNotAvailableError(ValueError):
  """The dataset is not prepared in the TFDS data directory."""


def _tfds():
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  return tfds


def _check_name(name):
  if name not in TFDS_NAMES:
    raise ValueError(f'Unknown TFDS-backed dataset {name!r}; available: '
                     f'{", ".join(sorted(TFDS_NAMES))}.'
                     f'{suggestions.did_you_mean(name, TFDS_NAMES)}')


def get_builder(name, data_dir=None):
  """The TFDS builder of ``name``, made without any network access.

  Args:
    name: One of :data:`TFDS_NAMES`.
    data_dir: TFDS data directory; None means TFDS's default.

  Returns:
    A ``tfds.core.DatasetBuilder``. Building it reads only the installed TFDS
    package and ``data_dir``; ``try_gcs=False`` keeps it off the public GCS
    bucket.
  """
  _check_name(name)
  return _tfds().builder(TFDS_NAMES[name], data_dir=data_dir, try_gcs=False)


def not_available_message(name, builder):
  """Says that ``name`` is not prepared, where we looked and what to run."""
  archive_names = sorted(
      info.filename for info in builder.url_infos.values() if info.filename)
  root = builder.data_dir_root
  lines = [
      f'Dataset {name!r} (TFDS {builder.info.full_name}) is not prepared in '
      f'{root} (no {builder.data_dir}). Loaders never download it.',
      'To prepare it offline from the upstream archives, put '
      f'{", ".join(archive_names)} in a directory DIR and run:',
      f'  {PREPARE_COMMAND} --dataset={name} --archive_dir=DIR '
      f'--data_dir={root}',
  ]
  if name == 'fashion_mnist':
    lines += [
        "or, from Debian's dataset-fashion-mnist package "
        '(apt-get install dataset-fashion-mnist):',
        f'  {PREPARE_COMMAND} --dataset=fashion_mnist --from_debian '
        f'--data_dir={root}',
    ]
  lines += [
      'With internet access instead: '
      f'tfds build {TFDS_NAMES[name]} --data_dir={root}',
  ]
  return '\n'.join(lines)


def is_prepared(builder):
  """Whether ``builder``'s version is prepared in its data directory.

  Asks ``builder.is_prepared()`` (a complete dataset_info.json and
  features.json in ``<data_dir>/<name>/<config>/<version>``) only where that
  directory exists, which spares TFDS's warning about a missing folder.
  """
  return builder.data_path.exists() and builder.is_prepared()


def prepared_builder(name, data_dir=None):
  """The builder of ``name`` if its data is prepared, else an error at once.

  Raises:
    DatasetNotAvailableError: the data is not in ``data_dir``. Raised within a
      second or two, without any attempt to reach the network.
    ValueError: ``name`` is unknown; the message lists the known names.
  """
  builder = get_builder(name, data_dir)
  if not is_prepared(builder):
    raise DatasetNotAvailableError(not_available_message(name, builder))
  return builder


def _read_split(builder, split):
  """(inputs, labels) of a whole split as numpy arrays.

  Reads in batches of :data:`READ_BATCH` rather than with TFDS's
  ``batch_size=-1``, whose one batch is sized from the split metadata.
  """
  tfds = _tfds()
  batches = tfds.as_numpy(
      builder.as_dataset(split=split, as_supervised=True).batch(READ_BATCH))
  inputs, labels = [], []
  for batch_inputs, batch_labels in batches:
    inputs.append(batch_inputs)
    labels.append(batch_labels)
  if not inputs:
    raise ValueError(f'Split {split!r} of {builder.info.full_name} is empty.')
  return np.concatenate(inputs), np.concatenate(labels).astype(np.int64)


def _class_names(builder):
  return tuple(builder.info.features['label'].names)


def to_greyscale(images):
  """uint8 or float [N, H, W, 3] → float32 [N, H, W, 1] luma (BT.601)."""
  weights = np.asarray(LUMA_WEIGHTS, np.float32)
  return np.tensordot(images.astype(np.float32), weights,
                      axes=([-1], [0]))[..., np.newaxis]


@functools.lru_cache(maxsize=None)
def _load_images(name, split, data_dir, greyscale):
  builder = prepared_builder(name, data_dir)
  images, labels = _read_split(builder, split)
  if greyscale and images.shape[-1] == 3:
    pixels = to_greyscale(images)
  else:
    pixels = images.astype(np.float32)
  pixels /= MAX_PIXEL
  shape = tuple(int(d) for d in pixels.shape[1:])
  class_names = _class_names(builder)
  return dataset.Dataset(
      name=name, features=pixels.reshape(len(pixels), -1), labels=labels,
      shape=shape, num_classes=len(class_names), modality='image',
      split=split, class_names=class_names)


def load_mnist(split=META_TRAIN_SPLIT, data_dir=None):
  """MNIST digits, 28×28×1 in [0, 1] (spec §7.2, held-out evaluation)."""
  return _load_images('mnist', split, data_dir, False)


def load_fashion_mnist(split=META_TRAIN_SPLIT, data_dir=None):
  """Fashion-MNIST, 28×28×1 in [0, 1] (spec §7.2, held-out evaluation)."""
  return _load_images('fashion_mnist', split, data_dir, False)


def load_cifar10(split=META_TRAIN_SPLIT, data_dir=None, greyscale=False):
  """CIFAR-10, 32×32 in [0, 1] (spec §7.2, meta-training "MiniCIFAR").

  The paper does not say whether it used colour (spec §7.2). We keep colour
  by default (32×32×3): the released code flattens any [H, W, C] input and
  Fig. 6 shows CIFAR-10 filters. ``greyscale=True`` gives BT.601 luma,
  32×32×1.
  """
  return _load_images('cifar10', split, data_dir, bool(greyscale))


@functools.lru_cache(maxsize=None)
def _imdb_texts(split, data_dir):
  builder = prepared_builder('imdb_reviews', data_dir)
  texts, labels = _read_split(builder, split)
  return builder, list(texts), labels


@functools.lru_cache(maxsize=None)
def imdb_vocabulary(data_dir=None, size=text.VOCABULARY_SIZE):
  """The IMDB vocabulary: the ``size`` most frequent words of 'train' only.

  Cached per ``data_dir``, so every split of one data directory shares it.
  """
  _, texts, _ = _imdb_texts(VOCABULARY_SPLIT, data_dir)
  return tuple(text.build_vocabulary(texts, size))


@functools.lru_cache(maxsize=None)
def _load_imdb(split, data_dir, counts, vocabulary_size):
  builder, texts, labels = _imdb_texts(split, data_dir)
  vocabulary = imdb_vocabulary(data_dir, vocabulary_size)
  features = text.bag_of_words(texts, vocabulary, binary=not counts)
  class_names = _class_names(builder)
  return dataset.Dataset(
      name='imdb_reviews', features=features, labels=labels,
      shape=(len(vocabulary),), num_classes=len(class_names),
      modality='text', split=split, class_names=class_names)


def load_imdb_reviews(split=META_TRAIN_SPLIT, data_dir=None, counts=False,
                      vocabulary_size=text.VOCABULARY_SIZE):
  """IMDB reviews as a bag of words (spec §7.2: "bag of words with 1K words").

  Args:
    split: TFDS split: 'train', 'test' (25 000 reviews each, labels neg/pos)
      or a slice of one. ('unsupervised' has no labels: they read -1.)
    data_dir: TFDS data directory; None means TFDS's default.
    counts: Word counts instead of word presence. The paper does not say
      which; presence (binary) is our default.
    vocabulary_size: Number of words, built from the 'train' split only.

  Returns:
    A :class:`Dataset` with modality 'text' and shape (vocabulary_size,).
  """
  return _load_imdb(split, data_dir, bool(counts), int(vocabulary_size))


LOADERS = {
    'mnist': load_mnist,
    'fashion_mnist': load_fashion_mnist,
    'cifar10': load_cifar10,
    'imdb_reviews': load_imdb_reviews,
}


def clear_caches():
  """Forgets every loaded split and vocabulary (e.g. after new data)."""
  for cached in (_load_images, _imdb_texts, imdb_vocabulary, _load_imdb):
    cached.cache_clear()
