"""Deterministic samplers that feed the compiled inner loop with tensors.

Everything is drawn with a NumPy generator from an explicit seed, outside
the compiled function, so runs are reproducible and identical with and
without XLA (DESIGN §3: stateless RNG differs under XLA).
"""

import numpy as np

from learned_rule import meta_objective

# §5.2 / §8.1: examples per class in the few-shot support and query sets.
SHOTS_PER_CLASS = 10


def unlabeled_batches(data, num_steps, batch_size, rng):
  """``[num_steps, batch_size, D]`` examples drawn without labels.

  Each batch is a fresh random draw without replacement within the batch,
  so its order is shuffled (the rule's convolutions run along the batch
  axis, spec §11.11).
  """
  if batch_size < 2:
    raise ValueError(f'`batch_size` must be >= 2, got {batch_size}.')
  if batch_size > len(data):
    raise ValueError(f'`batch_size` {batch_size} exceeds the {len(data)} '
                     f'examples of {data.name}.')
  indices = np.stack([rng.choice(len(data), batch_size, replace=False)
                      for _ in range(num_steps)])
  return data.features[indices]


def few_shot_batch(data, rng, shots=SHOTS_PER_CLASS, classes=None):
  """Class-balanced, disjoint support and query sets (spec §5.2, §5.4).

  Args:
    data: A :class:`Dataset`.
    rng: A ``np.random.Generator``.
    shots: Examples per class in each of support and query.
    classes: Classes to use (default: all), relabelled 0..k-1.

  Returns:
    A :class:`FewShotBatch` of NumPy arrays, each set shuffled.
  """
  classes = np.arange(data.num_classes) if classes is None else np.asarray(
      classes)
  support, query = [], []
  for new_label, label in enumerate(classes):
    members = np.flatnonzero(data.labels == label)
    if len(members) < 2 * shots:
      raise ValueError(
          f'{data.name} class {label} has {len(members)} examples; '
          f'{2 * shots} are needed for {shots} support + {shots} query.')
    chosen = rng.choice(members, 2 * shots, replace=False)
    support += [(i, new_label) for i in chosen[:shots]]
    query += [(i, new_label) for i in chosen[shots:]]

  def as_arrays(pairs):
    pairs = [pairs[i] for i in rng.permutation(len(pairs))]
    indices = np.array([i for i, _ in pairs])
    labels = np.array([label for _, label in pairs], np.int32)
    return data.features[indices], labels

  support_x, support_y = as_arrays(support)
  query_x, query_y = as_arrays(query)
  return meta_objective.FewShotBatch(support_x, support_y, query_x, query_y)
