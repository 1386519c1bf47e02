"""Meta-training tasks: what each worker trains a base model on (spec §6).

A worker "trains on one task by first sampling a dataset, architecture, and
a number of training steps. Next, each worker samples k unrolling steps"
(spec §6.1). A :class:`Task` is one such draw (see
:class:`learned_rule.tasks.distribution.TaskDistribution` for the sampler):
a dataset and a subset of its classes, the base-model architecture, a fresh
input permutation (spec §2.3, §6.2), the total inner-training length and
the truncation length k. :func:`task_batches` draws the inputs of one
truncated unroll of a task and :func:`build_model` builds its base model.
"""

import dataclasses

import numpy as np

from learned_rule.model import activations as activations_lib
from learned_rule.model import base_model
from learned_rule.tasks import checks as task_checks
from learned_rule.data import sampling


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
    classes = task_checks.check_choices('classes', self.classes, 0)
    if len(set(classes)) != len(classes) or len(classes) < 2:
      raise ValueError(f'`classes` must hold at least 2 distinct class ids, '
                       f'got {self.classes!r}.')
    object.__setattr__(self, 'classes', tuple(sorted(classes)))
    object.__setattr__(self, 'widths',
                       task_checks.check_choices('widths', self.widths, 1))
    activations_lib.check_activation(self.activation)
    for name, minimum in (('permutation_seed', 0), ('total_steps', 1),
                          ('truncation_steps', 1), ('batch_size', 2),
                          ('shots', 1), ('seed', 0)):
      object.__setattr__(
          self, name, task_checks.check_int(name, getattr(self, name), minimum))
    object.__setattr__(self, 'augment',
                       task_checks.check_bool('augment', self.augment))

  @property
  def num_classes(self):
    return len(self.classes)

  @property
  def num_truncations(self):
    """Truncated unrolls that cover :attr:`total_steps`."""
    return -(-self.total_steps // self.truncation_steps)

  def batch_rng(self):
    """A fresh generator for this task's batches, from :attr:`seed`."""
    return np.random.default_rng(self.seed)

  def describe(self):
    """One line, e.g. 'digits 10cls 64-64-32 relu T=57 k=8 B=64'."""
    widths = '-'.join(str(w) for w in self.widths)
    return (f'{self.dataset} {self.num_classes}cls {widths} {self.activation} '
            f'T={self.total_steps} k={self.truncation_steps} '
            f'B={self.batch_size}{" aug" if self.augment else ""}')


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
  task_checks.check_int('num_steps', num_steps, 1)
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
