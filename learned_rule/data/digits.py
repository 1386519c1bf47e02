"""scikit-learn's 8×8 digits: the dataset that is always available offline.

1797 greyscale images of the digits 0–9 shipped inside the scikit-learn
wheel, pixel values 0–16 scaled to [0, 1].
"""

import functools

import numpy as np

from learned_rule.data import dataset

# Pixel values of load_digits are integers 0..16.
MAX_PIXEL = 16.0


@functools.lru_cache(maxsize=None)
def load_digits():
  """All 1797 digits as a :class:`Dataset` (features in [0, 1])."""
  from sklearn import datasets  # pylint: disable=g-import-not-at-top
  raw = datasets.load_digits()
  features = (raw.data / MAX_PIXEL).astype(np.float32)
  return dataset.Dataset(name='digits', features=features,
                         labels=raw.target.astype(np.int64), shape=(8, 8, 1),
                         num_classes=10, modality='image')
