"""scikit-learn's 8×8 digits: the dataset that is always available offline.

1797 greyscale images of the digits 0–9 shipped inside the scikit-learn
wheel, pixel values 0–16 scaled to [0, 1]. Splits: 'all', and a fixed
stratified 'train' (two thirds) / 'test' (one third) partition.
"""

import functools

import numpy as np

from learned_rule.data import dataset

# Pixel values of load_digits are integers 0..16.
MAX_PIXEL = 16.0
# Seed of the fixed train/test partition; a third of each class is 'test'.
SPLIT_SEED = 0
TEST_FRACTION = 1.0 / 3.0
SPLITS = ('all', 'train', 'test')


@functools.lru_cache(maxsize=None)
def load_digits():
  """All 1797 digits as a :class:`Dataset` (features in [0, 1])."""
  from sklearn import datasets  # pylint: disable=g-import-not-at-top
  raw = datasets.load_digits()
  features = (raw.data / MAX_PIXEL).astype(np.float32)
  return dataset.Dataset(name='digits', features=features,
                         labels=raw.target.astype(np.int64), shape=(8, 8, 1),
                         num_classes=10, modality='image', split='all')


def load_split(split='all'):
  """One of :data:`SPLITS`; 'train' and 'test' are disjoint and stratified."""
  if split not in SPLITS:
    raise ValueError(f'Unknown digits split {split!r}; allowed: {SPLITS}.')
  data = load_digits()
  if split == 'all':
    return data
  rng = np.random.RandomState(SPLIT_SEED)
  test = np.zeros(len(data), bool)
  for label in range(data.num_classes):
    members = rng.permutation(np.flatnonzero(data.labels == label))
    test[members[:int(round(len(members) * TEST_FRACTION))]] = True
  chosen = test if split == 'test' else ~test
  return data.subset(np.flatnonzero(chosen), split)
