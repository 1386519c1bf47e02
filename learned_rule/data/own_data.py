"""Datasets of one's own, named by where they are.

A dataset name ``PREFIX:PATH`` is read from ``PATH``, in any binary and any
gin field that takes a dataset name:

* ``imagedir:DIR``: one sub-directory per class holding PNG or JPEG files
  of any size (found recursively), read as greyscale, resized bilinearly
  to :data:`IMAGE_SIZE` × :data:`IMAGE_SIZE` and scaled to [0, 1]; see
  :mod:`learned_rule.data.image_directory`.
* ``npz:FILE``: a NumPy ``.npz`` file with ``images`` and ``labels``; see
  :mod:`learned_rule.data.npz_file`.
* ``textdir:DIR``: a text corpus, one sub-directory per class, as bag of
  words (:mod:`learned_rule.data.text_directory`).

Class names are the sorted sub-directory names (or label values). Options
follow the path after '?', e.g. ``imagedir:~/shapes?size=16`` or
``npz:data.npz?min_per_class=10``; see :data:`OPTIONS`. A path that holds
'?' itself cannot be named.

Splits: 'train' (meta-training's) and 'test' (held out for evaluation) are
the data's own when it has them (``DIR/train/`` and ``DIR/test/``, or the
npz arrays ``train_images`` ... ``test_labels``); otherwise a fixed
stratified partition holds out :data:`TEST_FRACTION` of every class.
'all' is both. Every class of a loaded split must have ``min_per_class``
examples (default :data:`MIN_PER_CLASS`), which the few-shot draws need.
"""

import pathlib

import numpy as np

from learned_rule.data import sampling
from learned_rule.data import text
from learned_rule.data import text_directory

PREFIXES = ('imagedir', 'npz', 'textdir')
FORMS = 'imagedir:DIR, npz:FILE.npz or textdir:DIR'
SPLITS = ('train', 'test', 'all')
# Side of the square images an image directory is resized to: MNIST's
# 28×28, the larger size of the paper's evaluation data (spec §7.2).
IMAGE_SIZE = 28
# The held-out share of every class, and the seed of the partition, as
# digits.py (ours; a class of 59 examples or more then keeps the 10 + 10
# few-shot examples of spec §8.1 in each split, see total_needed).
TEST_FRACTION = 1.0 / 3.0
SPLIT_SEED = 0
# Examples every class of a split needs: a few-shot draw takes 10 support
# and 10 query examples per class (spec §5.4, §8.1).
MIN_PER_CLASS = 2 * sampling.SHOTS_PER_CLASS
# Integer options each prefix takes after '?', and their defaults.
OPTIONS = {
    'imagedir': {'size': IMAGE_SIZE, 'min_per_class': MIN_PER_CLASS},
    'npz': {'min_per_class': MIN_PER_CLASS},
    'textdir': {'vocabulary_size': text.VOCABULARY_SIZE,
                'min_per_class': MIN_PER_CLASS},
}
_SHOWN = 10


class OwnDataError(ValueError):
  """Data named ``PREFIX:PATH`` that cannot be used, and how to fix it."""


def is_own(name):
  """Whether ``name`` has the form ``PREFIX:PATH`` (registry names have no
  ':')."""
  return isinstance(name, str) and ':' in name


def parse(name):
  """``(prefix, path, options)`` of a name ``PREFIX:PATH[?key=value&...]``.

  Raises:
    OwnDataError: An unknown prefix, no path, or a malformed or unknown
      option.
  """
  prefix, _, rest = name.partition(':')
  if prefix not in PREFIXES:
    raise OwnDataError(
        f'Unknown dataset prefix {prefix!r} in {name!r}; name your own data '
        f'{FORMS}.')
  path, _, query = rest.partition('?')
  if not path.strip():
    raise OwnDataError(f'The dataset name {name!r} names no path; write '
                       f'{prefix}:PATH.')
  options = dict(OPTIONS[prefix])
  for item in filter(None, query.split('&')):
    key, equals, value = item.partition('=')
    if key not in options or not equals:
      raise OwnDataError(
          f'Unknown option {item!r} in {name!r}; {prefix}: takes '
          f'{", ".join(f"{k}=N" for k in options)} after "?", joined by '
          f'"&".')
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
      raise OwnDataError(f'Option {key} in {name!r} must be an integer >= 1, '
                         f'got {value!r}.')
    options[key] = int(value)
  return prefix, pathlib.Path(path).expanduser(), options


def check_path(name, path, directory):
  """Raises OwnDataError unless ``path`` is a directory (or a file)."""
  kind = 'directory' if directory else 'file'
  exists = path.is_dir() if directory else path.is_file()
  if not exists:
    raise OwnDataError(
        f'{name}: {path} does not exist or is not a {kind}; name an existing '
        f'{kind} after "{name.partition(":")[0]}:" (a relative path starts '
        f'from the working directory, {pathlib.Path.cwd()}).')


def check_split(split):
  """Raises OwnDataError unless ``split`` is one of :data:`SPLITS`."""
  if split not in SPLITS:
    raise OwnDataError(f'Unknown split {split!r} of own data; allowed: '
                       f'{SPLITS}.')


def check_classes(name, class_names, where, fix):
  """Raises OwnDataError for fewer than two classes, saying ``fix``."""
  if not class_names:
    raise OwnDataError(f'{name}: {where} has no classes; {fix}.')
  if len(class_names) == 1:
    raise OwnDataError(
        f'{name}: {where} has one class ({class_names[0]!r}); '
        f'classification needs at least two, so add another class.')


def stratified_test_mask(labels, test_fraction=TEST_FRACTION,
                         seed=SPLIT_SEED):
  """Which examples are 'test': ``round(test_fraction × count)`` of each
  class, chosen with a fixed seed (a class keeps at least one in 'train').

  Depends only on ``labels`` in their order, so a reload gives the same
  partition.
  """
  labels = np.asarray(labels)
  rng = np.random.RandomState(seed)
  test = np.zeros(len(labels), bool)
  for label in np.unique(labels):
    members = rng.permutation(np.flatnonzero(labels == label))
    count = min(int(round(len(members) * test_fraction)), len(members) - 1)
    test[members[:count]] = True
  return test


def total_needed(minimum, test_fraction=TEST_FRACTION):
  """Fewest examples of a class whose stratified 'train' and 'test' parts
  both have ``minimum``."""
  count = 2 * minimum
  while True:
    held = min(int(round(count * test_fraction)), count - 1)
    if held >= minimum and count - held >= minimum:
      return count
    count += 1


def check_per_class(name, split, labels, class_names, minimum, where,
                    pre_split, test_fraction=TEST_FRACTION):
  """Raises OwnDataError if a class of a split has < ``minimum`` examples.

  Args:
    name: The dataset's name.
    split: The split checked.
    labels: Its int labels, ids into ``class_names``.
    class_names: Names of the classes.
    minimum: Examples every class needs.
    where: Where the examples live, for the message (a path).
    pre_split: Whether the data came split (train/ and test/) or was split
      here, which changes how many examples the fix needs.
    test_fraction: The held-out share when split here.
  """
  counts = np.bincount(labels, minlength=len(class_names))
  short = [(class_names[c], int(counts[c]))
           for c in np.flatnonzero(counts < minimum)]
  if not short:
    return
  listed = ', '.join(f'{label!r} has {count}'
                     for label, count in short[:_SHOWN])
  more = f' and {len(short) - _SHOWN} more' if len(short) > _SHOWN else ''
  part = where if split == 'all' else f'the {split!r} part of {where}'
  fix = (f'add examples to those classes in {part}' if pre_split else
         f'give every class at least '
         f'{total_needed(minimum, test_fraction)} examples in {where} '
         f'({round(100 * test_fraction)}% of each is held out for the '
         f'\'test\' split)')
  raise OwnDataError(
      f'{name}: too few examples per class in its {split!r} split: class '
      f'{listed}{more}; every class needs {minimum} (a few-shot draw takes '
      f'{sampling.SHOTS_PER_CLASS} support + {sampling.SHOTS_PER_CLASS} query '
      f'examples per class, spec §5.4, §8.1). To fix it, {fix}, or leave '
      f'those classes out. Meta-training with fewer TaskDistribution.shots '
      f'may lower this check with "?min_per_class=N" after the path.')


def load_text(name, path, split, vocabulary_size, min_per_class):
  """``textdir:``: :func:`text_directory.load_text_directory`, checked."""
  check_split(split)
  check_path(name, path, directory=True)
  data = text_directory.load_text_directory(
      path, split, vocabulary_size=vocabulary_size, name=name)
  check_per_class(name, split, data.labels, data.class_names, min_per_class,
                  str(path), (path / 'train').is_dir(),
                  text_directory.TEST_FRACTION)
  return data
