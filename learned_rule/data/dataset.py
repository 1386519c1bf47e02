"""An in-memory dataset: flattened float32 features, int labels, metadata."""

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Dataset:
  """Examples of one split, loaded once and held in memory.

  Attributes:
    name: Dataset name, e.g. 'digits'.
    features: float32 [N, D], flattened.
    labels: int64 [N].
    shape: Shape of one example before flattening, e.g. (8, 8, 1).
    num_classes: Number of classes.
    modality: 'image', 'text', 'toy' or 'features' (vectors of own data).
    split: Name of the split these examples come from.
    class_names: Optional names of the classes.
  """

  name: str
  features: np.ndarray
  labels: np.ndarray
  shape: tuple
  num_classes: int
  modality: str = 'image'
  split: str = 'all'
  class_names: tuple = ()

  def __post_init__(self):
    if self.features.ndim != 2:
      raise ValueError(f'{self.name}: features must be [N, D], got shape '
                       f'{self.features.shape}.')
    if len(self.features) != len(self.labels):
      raise ValueError(f'{self.name}: {len(self.features)} examples but '
                       f'{len(self.labels)} labels.')
    if int(np.prod(self.shape)) != self.features.shape[1]:
      raise ValueError(f'{self.name}: shape {self.shape} does not match '
                       f'{self.features.shape[1]} features.')

  @property
  def input_dim(self):
    return self.features.shape[1]

  def __len__(self):
    return len(self.labels)

  def subset(self, indices, split=None):
    """The examples at ``indices``, as a dataset of its own."""
    return dataclasses.replace(
        self, features=self.features[indices], labels=self.labels[indices],
        split=self.split if split is None else split)
