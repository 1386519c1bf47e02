"""The distribution of meta-training tasks (spec §6.1, §6.2).

:class:`TaskDistribution` is the sampler of spec §6.1: each draw is a
:class:`learned_rule.tasks.task.Task`.

What the paper states (spec §6.2): datasets of rendered fonts, CIFAR-10 and
ImageNet class subsets; inputs at 16×16 pixels or less; 2–5 layers of
64–512 units; ReLU only; inputs permuted per inner-training run; shift,
rotation and noise augmentation. What it does not state, and so is ours
(spec §6.3): the distributions of the total length and of k, the number of
classes per task, the dataset weights, and the defaults below, which are
sized for meta-training on a CPU (DESIGN §6).

Every sampled size comes from a small set of choices because each new shape
retraces the compiled unroll (DESIGN §6): the hidden width, the depth, k
and the number of classes are choices, the batch size is fixed, and only
the total length (which sets no tensor shape) is drawn from a range.
"""

import dataclasses
import functools
import math
import numbers

import gin
import numpy as np

from learned_rule.model import activations as activations_lib
from learned_rule.tasks import checks as task_checks
from learned_rule.tasks import task as tasks
from learned_rule.data import registry
from learned_rule.data import sampling
from learned_rule.data import transforms
from learned_rule.update_rule import config as rule_config

# Seeds drawn per task lie in [0, 2**31 - 1): valid for NumPy's legacy
# RandomState (the input permutation, transforms.permutation_for), for
# default_rng and for Keras initializers alike.
_MAX_SEED = 2**31 - 1


@functools.lru_cache(maxsize=None)
def _prepared(name, role, max_image_size, greyscale):
  """The dataset of ``role``, greyscaled and shrunk as asked; cached."""
  data = registry.load_for(role, name)
  if data.modality != 'image' or len(data.shape) != 3:
    return data  # Text and toy features are not images: left untouched.
  if greyscale:
    data = transforms.greyscale(data)
  if max_image_size is not None and max(data.shape[:2]) > max_image_size:
    # transforms.resize gives square images; every image dataset here is
    # square. Bilinear resizing and the greyscale projection are both linear
    # maps, so their order does not change the result.
    data = transforms.resize(data, max_image_size)
  return data


@gin.configurable
@dataclasses.dataclass(frozen=True)
class TaskDistribution:
  """The distribution of meta-training tasks (spec §6.1, §6.2).

  Each :meth:`sample` draws a dataset, a class subset, an architecture, a
  fresh input permutation (spec §2.3), a total length and a truncation
  length k. Everything the paper leaves open is ours (spec §6.3); the
  defaults are small so that meta-training runs on a CPU (DESIGN §6).

  Attributes:
    datasets: ``(name, weight)`` pairs; a task's dataset is drawn with
      probability proportional to its weight. A bare name means weight 1
      (ours). The paper meta-trains on Alphabet, CIFAR-10 and ImageNet class
      subsets (spec §6.2); its mixture weights are not given. Own data is
      named ``imagedir:DIR``, ``npz:FILE`` or ``textdir:DIR``
      (:mod:`learned_rule.data.own_data`).
    role: Registry role whose split the tasks use ('meta_train').
    hidden_widths: Choices of the hidden width; one is drawn per task and
      used for every hidden layer (ours; the paper: 64–512 units).
    num_hidden_layers: Choices of the number of hidden layers, so 1, 2, 3
      give 2–4 weight layers with the top (paper: 2–5 layers).
    top_width: Width of the top layer, the features the rule reads; must
      equal the rule's ``RuleConfig.top_width`` (spec §2.1: 32).
    activations: Choices of the nonlinearity (paper: ReLU only, spec §6.2).
    classes_per_task: Choices of the number of classes of a task (ours),
      each capped at the dataset's class count.
    total_steps_range: ``(min, max)`` of the total inner-training length,
      drawn log-uniformly (ours; the paper samples it, spec §6.1, but gives
      no distribution).
    truncation_steps: Choices of k (ours; spec §6.1 samples it too).
    batch_size: Unlabeled examples per rule application (ours; the
      released evaluation uses 128).
    shots: Labelled examples per class in support and in query.
    max_image_size: Largest image side; larger image datasets are resized
      bilinearly to this size (spec §6.2: 16×16 or less). None keeps every
      size. Text and toy datasets are never resized.
    greyscale: Turn colour images into one luma channel (ours; off by
      default, as the paper does not say it did).
    augment: Augment the meta-objective's examples of image datasets and
      add the amounts as regression targets (spec §6.2); never applied to
      text or toy data.
  """

  datasets: tuple = (('alphabet', 1.0),)
  role: str = registry.META_TRAIN
  hidden_widths: tuple = (64, 128)
  num_hidden_layers: tuple = (1, 2, 3)
  top_width: int = rule_config.PAPER_TOP_WIDTH
  activations: tuple = ('relu',)
  classes_per_task: tuple = (10,)
  total_steps_range: tuple = (20, 200)
  truncation_steps: tuple = (8,)
  batch_size: int = 64
  shots: int = sampling.SHOTS_PER_CLASS
  max_image_size: int = 16
  greyscale: bool = False
  augment: bool = False

  def __post_init__(self):
    object.__setattr__(self, 'datasets', self._check_datasets(self.datasets))
    if self.role not in registry.ROLES:
      raise ValueError(f'Unknown `role` {self.role!r}; allowed: '
                       f'{registry.ROLES}.')
    for name, minimum in (('hidden_widths', 1), ('num_hidden_layers', 1),
                          ('classes_per_task', 2), ('truncation_steps', 1)):
      object.__setattr__(self, name, task_checks.check_choices(
          name, getattr(self, name), minimum))
    object.__setattr__(self, 'top_width',
                       task_checks.check_int('top_width', self.top_width, 1))
    if (isinstance(self.activations, str) or
        not hasattr(self.activations, '__iter__') or
        not tuple(self.activations)):
      raise ValueError(f'`activations` must be a non-empty tuple of names, '
                       f'got {self.activations!r}.')
    object.__setattr__(self, 'activations', tuple(self.activations))
    for activation in self.activations:
      if activation not in activations_lib.ACTIVATIONS:
        raise ValueError(
            f'Unknown activation {activation!r} in `activations`; allowed: '
            f'{", ".join(sorted(activations_lib.ACTIVATIONS))}.')
    object.__setattr__(self, 'total_steps_range',
                       self._check_range(self.total_steps_range))
    object.__setattr__(self, 'batch_size',
                       task_checks.check_int('batch_size', self.batch_size, 2))
    object.__setattr__(self, 'shots',
                       task_checks.check_int('shots', self.shots, 1))
    if self.max_image_size is not None:
      object.__setattr__(self, 'max_image_size', task_checks.check_int(
          'max_image_size', self.max_image_size, 1))
    object.__setattr__(self, 'greyscale',
                       task_checks.check_bool('greyscale', self.greyscale))
    object.__setattr__(self, 'augment',
                       task_checks.check_bool('augment', self.augment))

  @staticmethod
  def _check_datasets(datasets):
    """Normalises to ``((name, float weight), ...)`` and validates."""
    if isinstance(datasets, (str, bytes)) or not hasattr(datasets,
                                                         '__iter__'):
      raise ValueError(f'`datasets` must be a tuple of (name, weight) pairs, '
                       f'got {datasets!r}.')
    pairs = []
    for entry in datasets:
      if isinstance(entry, str):
        entry = (entry, 1.0)
      if (isinstance(entry, (str, bytes)) or not hasattr(entry, '__len__') or
          len(entry) != 2 or not isinstance(entry[0], str)):
        raise ValueError(f'Every entry of `datasets` must be a dataset name '
                         f'or a (name, weight) pair, got {entry!r}.')
      name, weight = entry
      registry.check_name(name, ' in `datasets`')
      if (isinstance(weight, bool) or not isinstance(weight, numbers.Real) or
          not math.isfinite(weight) or weight <= 0):
        raise ValueError(f'The weight of {name!r} in `datasets` must be a '
                         f'finite number > 0, got {weight!r}.')
      pairs.append((name, float(weight)))
    if not pairs:
      raise ValueError('`datasets` must name at least one dataset.')
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
      raise ValueError(f'`datasets` names a dataset twice: {names}.')
    return tuple(pairs)

  @staticmethod
  def _check_range(value):
    if (isinstance(value, (str, bytes)) or not hasattr(value, '__len__') or
        len(value) != 2 or not all(task_checks.is_int(v) for v in value) or
        not 1 <= value[0] <= value[1]):
      raise ValueError(f'`total_steps_range` must be (min, max) ints with '
                       f'1 <= min <= max, got {value!r}.')
    return (int(value[0]), int(value[1]))

  @property
  def dataset_names(self):
    return tuple(name for name, _ in self.datasets)

  @property
  def dataset_probabilities(self):
    weights = np.array([weight for _, weight in self.datasets])
    return weights / weights.sum()

  def load_data(self, task_or_name):
    """The :class:`Dataset` of :attr:`role`, greyscaled and resized as set.

    Args:
      task_or_name: A :class:`Task` or a registry name (any registered
        dataset or own data ``PREFIX:PATH``, not only those of
        :attr:`datasets`).

    Returns:
      The dataset, cached per (name, role, max_image_size, greyscale).
    """
    name = (task_or_name.dataset if isinstance(task_or_name, tasks.Task) else
            task_or_name)
    registry.check_name(name)
    return _prepared(name, self.role, self.max_image_size, self.greyscale)

  def input_dim(self, task_or_name):
    """Flattened input size of a dataset after :meth:`load_data`."""
    return self.load_data(task_or_name).input_dim

  def _sample_total_steps(self, rng):
    # Log-uniform on [min, max + 1), floored: every integer of the range is
    # reachable, both ends included, with probability ∝ log((n + 1) / n).
    low, high = self.total_steps_range
    value = math.exp(rng.uniform(math.log(low), math.log(high + 1)))
    return min(max(int(value), low), high)  # Guards float round-off.

  def sample(self, rng):
    """Draws one :class:`Task`; the same generator state gives the same task.

    Loads (and caches) the drawn dataset to learn its class count and
    modality.

    Args:
      rng: ``np.random.Generator``.

    Returns:
      A :class:`Task`.
    """
    if not isinstance(rng, np.random.Generator):
      raise ValueError(f'`rng` must be a numpy.random.Generator, got '
                       f'{type(rng).__name__}.')
    # The draws below always happen in this order and number, whatever is
    # drawn, so the stream of tasks from one seed is reproducible.
    index = int(rng.choice(len(self.datasets), p=self.dataset_probabilities))
    name = self.datasets[index][0]
    data = self.load_data(name)
    num_classes = min(int(rng.choice(self.classes_per_task)),
                      data.num_classes)
    classes = sampling.sample_classes(data, num_classes, rng)
    hidden_width = int(rng.choice(self.hidden_widths))
    depth = int(rng.choice(self.num_hidden_layers))
    activation = str(rng.choice(self.activations))
    total_steps = self._sample_total_steps(rng)
    truncation_steps = int(rng.choice(self.truncation_steps))
    permutation_seed, seed = (int(s) for s in rng.integers(0, _MAX_SEED, 2))
    return tasks.Task(
        dataset=name,
        classes=tuple(int(c) for c in classes),
        widths=(hidden_width,) * depth + (self.top_width,),
        activation=activation,
        permutation_seed=permutation_seed,
        total_steps=total_steps,
        truncation_steps=truncation_steps,
        batch_size=self.batch_size,
        shots=self.shots,
        # Augmentation moves pixels, so it only applies to images (ours).
        augment=self.augment and data.modality == 'image',
        seed=seed)


