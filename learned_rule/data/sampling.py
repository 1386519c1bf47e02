"""Deterministic samplers that feed the compiled inner loop with tensors.

Everything is drawn with a NumPy generator from an explicit seed, outside
the compiled function, so runs are reproducible and identical with and
without XLA (DESIGN §3: stateless RNG differs under XLA).
"""

import numpy as np

from learned_rule.data import few_shot
from learned_rule.data import transforms

# §5.2 / §8.1: examples per class in the few-shot support and query sets.
SHOTS_PER_CLASS = 10


def class_members(data, classes=None):
  """Indices of the examples of ``classes`` (all classes when None)."""
  if classes is None:
    return np.arange(len(data))
  classes = np.asarray(classes)
  unknown = np.setdiff1d(classes, np.arange(data.num_classes))
  if unknown.size:
    raise ValueError(f'{data.name} has no classes {unknown.tolist()} '
                     f'(it has {data.num_classes}).')
  return np.flatnonzero(np.isin(data.labels, classes))


def sample_classes(data, num_classes, rng):
  """A class-subset task: ``num_classes`` distinct classes, sorted.

  E.g. 10 of Alphabet's 62 characters (spec §6.2).
  """
  if not 2 <= num_classes <= data.num_classes:
    raise ValueError(f'`num_classes` must be in [2, {data.num_classes}] for '
                     f'{data.name}, got {num_classes}.')
  return np.sort(rng.choice(data.num_classes, num_classes, replace=False))


def unlabeled_batches(data, num_steps, batch_size, rng, classes=None):
  """``[num_steps, batch_size, D]`` examples drawn without labels.

  Each batch is drawn without replacement and in random order (the rule's
  convolutions run along the batch axis, spec §11.11).

  Args:
    data: A :class:`Dataset`.
    num_steps: Number of batches.
    batch_size: Examples per batch (>= 2: batch norm uses its statistics).
    rng: ``np.random.Generator``.
    classes: Optional class subset the examples come from.
  """
  if batch_size < 2:
    raise ValueError(f'`batch_size` must be >= 2, got {batch_size}.')
  members = class_members(data, classes)
  if batch_size > len(members):
    raise ValueError(f'`batch_size` {batch_size} exceeds the {len(members)} '
                     f'examples of {data.name} available.')
  indices = np.stack([rng.choice(members, batch_size, replace=False)
                      for _ in range(num_steps)])
  return data.features[indices]


def few_shot_batch(data, rng, shots=SHOTS_PER_CLASS, classes=None,
                   augment=False):
  """Class-balanced, disjoint support and query sets (spec §5.2, §5.4).

  Args:
    data: A :class:`Dataset`.
    rng: A ``np.random.Generator``.
    shots: Examples per class in each of support and query.
    classes: Classes to use (default: all), relabelled 0..k-1 in order.
    augment: Shift, rotate and add noise to image examples, and return the
      amounts as extra regression targets (spec §6.2).

  Returns:
    A :class:`FewShotBatch` of NumPy arrays, each set shuffled.
  """
  classes = (np.arange(data.num_classes) if classes is None else
             np.asarray(classes))
  class_members(data, classes)  # Validates the classes.
  if augment:
    transforms.images_of(data)  # Augmentation needs images; says so if not.
  if shots < 1:
    raise ValueError(f'`shots` must be >= 1, got {shots}.')
  support, query = [], []
  for new_label, label in enumerate(classes):
    members = np.flatnonzero(data.labels == label)
    if len(members) < 2 * shots:
      named = (f'class {data.class_names[label]!r}, ' if data.class_names
               else '')
      raise ValueError(
          f'{data.name} class {label} has {len(members)} examples; '
          f'{2 * shots} are needed for {shots} support + {shots} query '
          f'({named}{data.split!r} split). Give that class more '
          f'examples or leave it out of the dataset.')
    chosen = rng.choice(members, 2 * shots, replace=False)
    support += [(i, new_label) for i in chosen[:shots]]
    query += [(i, new_label) for i in chosen[shots:]]

  def as_arrays(pairs):
    pairs = [pairs[i] for i in rng.permutation(len(pairs))]
    indices = np.array([i for i, _ in pairs])
    labels = np.array([label for _, label in pairs], np.int32)
    features, extra = data.features[indices], None
    if augment:
      images = features.reshape((-1,) + tuple(data.shape))
      images, extra = transforms.augment(images, rng)
      features = images.reshape(len(indices), -1)
    return features, labels, extra

  support_x, support_y, support_extra = as_arrays(support)
  query_x, query_y, query_extra = as_arrays(query)
  return few_shot.FewShotBatch(support_x, support_y, query_x, query_y,
                               support_extra, query_extra)
