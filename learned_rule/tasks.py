"""Meta-training tasks: what each worker trains a base model on (spec §6).

A worker "trains on one task by first sampling a dataset, architecture, and
a number of training steps. Next, each worker samples k unrolling steps"
(spec §6.1). :class:`TaskDistribution` is that sampler; a :class:`Task` is
one draw: a dataset and a subset of its classes, the base-model
architecture, a fresh input permutation (spec §2.3, §6.2), the total
inner-training length and the truncation length k.

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

from learned_rule import activations as activations_lib
from learned_rule import base_model
from learned_rule.data import registry
from learned_rule.data import sampling
from learned_rule.data import transforms
from learned_rule.rule import config as rule_config

# Seeds drawn per task lie in [0, 2**31 - 1): valid for NumPy's legacy
# RandomState (the input permutation, base_model.permutation_for), for
# default_rng and for Keras initializers alike.
_MAX_SEED = 2**31 - 1


def _is_int(value):
  return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_choices(name, values, minimum):
  """A non-empty tuple of ints >= ``minimum``; raises naming ``name``."""
  if isinstance(values, (str, bytes)) or not hasattr(values, '__iter__'):
    raise ValueError(f'`{name}` must be a non-empty tuple of ints >= '
                     f'{minimum}, got {values!r}.')
  values = tuple(values)
  if not values or not all(_is_int(v) and v >= minimum for v in values):
    raise ValueError(f'`{name}` must be a non-empty tuple of ints >= '
                     f'{minimum}, got {values!r}.')
  return tuple(int(v) for v in values)


def _check_int(name, value, minimum):
  if not _is_int(value) or value < minimum:
    raise ValueError(f'`{name}` must be an int >= {minimum}, got {value!r}.')
  return int(value)


def _check_bool(name, value):
  if not isinstance(value, (bool, np.bool_)):
    raise ValueError(f'`{name}` must be True or False, got {value!r}.')
  return bool(value)


@dataclasses.dataclass(frozen=True)
class Task:
  """One meta-training task: a worker's inner-training run (spec §6.1).

  Attributes:
    dataset: Registry name of the dataset, e.g. 'alphabet'.
    classes: Sorted class ids of the dataset this task uses (spec §6.2:
      class subsets); the meta-objective relabels them 0..len - 1.
    widths: Width of every weight layer, hidden ones first, the top (the
      feature width the rule reads, spec §2.1) last.
    activation: Nonlinearity of every layer (spec §6.2: ReLU).
    permutation_seed: Seed of the fixed input permutation of this run
      (spec §2.3), fresh per task.
    total_steps: Inner-training length of this task: rule applications from
      φ_0 until the base model is discarded (spec §6.1).
    truncation_steps: k, rule applications per truncated unroll (spec §6.1).
    batch_size: Unlabeled examples per rule application.
    shots: Labelled examples per class in each of the meta-objective's
      support and query sets (spec §6.2: the code's default is 10).
    augment: Shift, rotate and add noise to the meta-objective's examples,
      with the amounts as extra regression targets (spec §6.2).
    seed: Seed of this task's batches (see :meth:`batch_rng`) and of the
      base model's initializers.
  """

  dataset: str
  classes: tuple
  widths: tuple
  activation: str
  permutation_seed: int
  total_steps: int
  truncation_steps: int
  batch_size: int
  shots: int
  augment: bool
  seed: int

  def __post_init__(self):
    classes = _check_choices('classes', self.classes, 0)
    if len(set(classes)) != len(classes) or len(classes) < 2:
      raise ValueError(f'`classes` must hold at least 2 distinct class ids, '
                       f'got {self.classes!r}.')
    object.__setattr__(self, 'classes', tuple(sorted(classes)))
    object.__setattr__(self, 'widths', _check_choices('widths', self.widths,
                                                      1))
    activations_lib.check_activation(self.activation)
    for name, minimum in (('permutation_seed', 0), ('total_steps', 1),
                          ('truncation_steps', 1), ('batch_size', 2),
                          ('shots', 1), ('seed', 0)):
      object.__setattr__(self, name,
                         _check_int(name, getattr(self, name), minimum))
    object.__setattr__(self, 'augment', _check_bool('augment', self.augment))

  @property
  def num_classes(self):
    return len(self.classes)

  @property
  def num_truncations(self):
    """Truncated unrolls that cover :attr:`total_steps`."""
    return -(-self.total_steps // self.truncation_steps)

  def truncation_lengths(self):
    """Length of every unroll: k each, the last one shorter if need be.

    The worker carries the final state of one unroll into the next "until
    the specified number of steps is reached" (spec §6.1). Ending with a
    partial unroll (rather than overshooting the sampled length) is ours.
    Its length is new to a compiled unroll, which retraces once per distinct
    remainder (DESIGN §6); remainders are < k, so they are few.
    """
    full, rest = divmod(self.total_steps, self.truncation_steps)
    return (self.truncation_steps,) * full + ((rest,) if rest else ())

  def batch_rng(self):
    """A fresh generator for this task's batches, from :attr:`seed`."""
    return np.random.default_rng(self.seed)

  def describe(self):
    """One line, e.g. 'digits 10cls 64-64-32 relu T=57 k=8 B=64'."""
    widths = '-'.join(str(w) for w in self.widths)
    return (f'{self.dataset} {self.num_classes}cls {widths} {self.activation} '
            f'T={self.total_steps} k={self.truncation_steps} '
            f'B={self.batch_size}{" aug" if self.augment else ""}')


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


def clear_cache():
  """Forgets every prepared dataset (e.g. after registry.register)."""
  _prepared.cache_clear()


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
      subsets (spec §6.2); its mixture weights are not given.
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
      object.__setattr__(self, name,
                         _check_choices(name, getattr(self, name), minimum))
    object.__setattr__(self, 'top_width',
                       _check_int('top_width', self.top_width, 1))
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
                       _check_int('batch_size', self.batch_size, 2))
    object.__setattr__(self, 'shots', _check_int('shots', self.shots, 1))
    if self.max_image_size is not None:
      object.__setattr__(self, 'max_image_size', _check_int(
          'max_image_size', self.max_image_size, 1))
    object.__setattr__(self, 'greyscale',
                       _check_bool('greyscale', self.greyscale))
    object.__setattr__(self, 'augment', _check_bool('augment', self.augment))

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
      if name not in registry.LOADERS:
        raise ValueError(f'Unknown dataset {name!r} in `datasets`; '
                         f'available: {", ".join(sorted(registry.LOADERS))}.')
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
        len(value) != 2 or not all(_is_int(v) for v in value) or
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
        dataset, not only those of :attr:`datasets`).

    Returns:
      The dataset, cached per (name, role, max_image_size, greyscale).
    """
    name = (task_or_name.dataset if isinstance(task_or_name, Task) else
            task_or_name)
    if name not in registry.LOADERS:
      raise ValueError(f'Unknown dataset {name!r}; available: '
                       f'{", ".join(sorted(registry.LOADERS))}.')
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
    return Task(
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


def task_batches(task, data, rng, num_steps):
  """The inputs of one truncated unroll of ``task``.

  Args:
    task: A :class:`Task`.
    data: Its dataset, from :meth:`TaskDistribution.load_data`.
    rng: ``np.random.Generator`` (e.g. ``task.batch_rng()``, carried from
      one unroll to the next).
    num_steps: Rule applications in this unroll.

  Returns:
    ``(unlabeled, few_shot)``: float32 ``[num_steps, batch_size, D]``
    examples of the task's classes, and a :class:`FewShotBatch` with
    ``task.shots`` examples per class of the task's classes in each of
    support and query, relabelled 0..num_classes - 1, augmented if
    ``task.augment``.
  """
  if data.name != task.dataset:
    raise ValueError(f'`data` is {data.name!r} but the task is on '
                     f'{task.dataset!r}.')
  _check_int('num_steps', num_steps, 1)
  if task.augment and data.modality != 'image':
    raise ValueError(f'The task augments but {data.name} is not an image '
                     f'dataset (modality {data.modality!r}).')
  unlabeled = sampling.unlabeled_batches(
      data, num_steps, task.batch_size, rng, classes=task.classes)
  few_shot = sampling.few_shot_batch(data, rng, shots=task.shots,
                                     classes=task.classes,
                                     augment=task.augment)
  return np.asarray(unlabeled, np.float32), few_shot


def build_model(task, input_dim, memory_size=0, dtype='float32'):
  """A :class:`BaseMLP` of ``task``'s architecture and input permutation.

  Args:
    task: A :class:`Task`.
    input_dim: Flattened input size (see :meth:`TaskDistribution.input_dim`).
    memory_size: Per-neuron memory channels M (0 = paper, spec §4).
    dtype: Keras dtype policy of the model.

  Returns:
    A built :class:`BaseMLP`. Its initializers are seeded with ``task.seed``
    (ours) so that building it twice gives the same variables.
  """
  return base_model.BaseMLP(input_dim, task.widths, task.activation,
                            memory_size=memory_size,
                            permutation_seed=task.permutation_seed,
                            seed=task.seed, dtype=dtype)
