"""Two moons: the 2-D toy data of the paper's Fig. 6 (spec §7.2, §8.3).

Two interleaved half circles, one class each, with Gaussian noise, from
scikit-learn's ``make_moons``. The paper shows how the learned rule
separates the two manifolds but gives neither the number of points nor the
noise; :data:`NUM_EXAMPLES` and :data:`NOISE` are our choices. Coordinates
are left as generated (x in about [-1, 2], y in about [-0.5, 1]).

'train' and 'test' are drawn with different seeds derived from ``seed``
and the split's name, so they never coincide, and each is the same on
every run.
"""

import numpy as np

from learned_rule.data import dataset

NUM_EXAMPLES = 1000
NOISE = 0.1
SEED = 0
SPLITS = ('train', 'test')
CLASS_NAMES = ('upper moon', 'lower moon')


def split_seed(split, seed=SEED):
  """The integer seed of ``split``: distinct per (seed, split) pair."""
  if split not in SPLITS:
    raise ValueError(f'Unknown two_moons split {split!r}; allowed: {SPLITS}.')
  sequence = np.random.SeedSequence([int(seed), SPLITS.index(split)])
  return int(sequence.generate_state(1)[0])


def load_split(split='train', num_examples=NUM_EXAMPLES, noise=NOISE,
               seed=SEED):
  """``num_examples`` points of two moons (classes balanced within one).

  Args:
    split: 'train' or 'test'.
    num_examples: Number of points.
    noise: Standard deviation of the Gaussian noise added to each point.
    seed: Base seed; each split derives its own from it.

  Returns:
    A :class:`Dataset` with float32 features [num_examples, 2].
  """
  from sklearn import datasets  # pylint: disable=g-import-not-at-top
  if num_examples < 2:
    raise ValueError(f'`num_examples` must be at least 2, got {num_examples}.')
  if noise < 0:
    raise ValueError(f'`noise` must be non-negative, got {noise}.')
  points, labels = datasets.make_moons(
      n_samples=num_examples, noise=noise, shuffle=True,
      random_state=split_seed(split, seed))
  return dataset.Dataset(
      name='two_moons', features=points.astype(np.float32),
      labels=labels.astype(np.int64), shape=(2,), num_classes=2,
      modality='toy', split=split, class_names=CLASS_NAMES)
