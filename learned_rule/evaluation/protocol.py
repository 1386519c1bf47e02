"""What every method of a transfer evaluation sees, and what it must return.

A transfer evaluation (spec §8.1) trains a feature extractor on unlabeled
data of a dataset meta-training never saw, and at chosen inner steps
measures how well its features solve few-shot tasks. To compare methods
fairly, every method of one :class:`Setting` sees the same unlabeled
batches in the same order and is probed on the same support/query draws;
only what it does with them differs.

A method is a :class:`FeatureMethod`. Most learn from the unlabeled stream
alone and derive from :class:`UnsupervisedMethod`, which needs three small
functions (start, train on a chunk of batches, features of inputs).
"""

import abc
import dataclasses

import numpy as np

from learned_rule.data import dataset as dataset_lib
from learned_rule.data import sampling

# Distinct seed streams for the unlabeled batches and the few-shot draws, so
# that adding draws never changes the batches (and the other way round).
_STREAM_KEY = 1
_DRAWS_KEY = 2
# Most unlabeled batches held in memory at once (ours): 250 batches of
# 128 × 784 floats are 100 MB, where one 7000-step chunk would be 2.8 GB.
MAX_CHUNK = 250


def _is_int(value):
  return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_steps(steps, field='Inner steps'):
  """Returns ``steps`` as a tuple of strictly increasing ints >= 0.

  Args:
    steps: The steps to check.
    field: What holds them, named in the error (e.g. a gin binding such as
      'TransferConfig.steps').
  """
  if isinstance(steps, (str, bytes)) or not hasattr(steps, '__iter__'):
    raise ValueError(f'{field} must be a tuple of inner steps, e.g. (0, 100, '
                     f'300), got {steps!r}.')
  steps = tuple(steps)
  if not steps:
    raise ValueError(f'{field}: the list of inner steps to evaluate is '
                     f'empty; give at least one, e.g. (0, 100).')
  for step in steps:
    if not _is_int(step) or step < 0:
      raise ValueError(f'{field} must be ints >= 0, got {step!r} in '
                       f'{steps}.')
  if any(b <= a for a, b in zip(steps, steps[1:])):
    raise ValueError(f'{field} must be strictly increasing, got {steps}; '
                     f'give them in order, e.g. {tuple(sorted(set(steps)))}.')
  return tuple(int(step) for step in steps)


def check_widths(widths, field='`widths`'):
  """Returns ``widths`` as a non-empty tuple of ints >= 1.

  Args:
    widths: Base-model widths, the top (feature) width last.
    field: What holds them, named in the error.
  """
  if isinstance(widths, (str, bytes)) or not hasattr(widths, '__iter__'):
    raise ValueError(f'{field} must be a tuple of layer widths, the top '
                     f'(feature) width last, e.g. (64, 64, 32); got '
                     f'{widths!r}.')
  widths = tuple(widths)
  if not widths or not all(_is_int(w) and w >= 1 for w in widths):
    raise ValueError(f'{field} must be positive int widths, the top '
                     f'(feature) width last, e.g. (64, 64, 32); got '
                     f'{widths!r}.')
  return tuple(int(w) for w in widths)


@dataclasses.dataclass(frozen=True)
class Setting:
  """One dataset × architecture × seed of a transfer evaluation.

  Attributes:
    data: The evaluation :class:`Dataset` (its held-out split).
    widths: Base-model widths, the top one last (the feature size).
    activation: Base-model nonlinearity.
    batch_size: Unlabeled examples per inner step (paper eval: 128, §8.1).
    seed: Seeds the base model, the unlabeled stream and the draws.
    steps: Inner steps at which the features are probed, increasing.
    shots: Labelled examples per class in support and in query (§8.1: 10).
    num_draws: Support/query draws averaged at every probed step (ours;
      the released evaluation draws one per evaluation, spec §8.1).
  """

  data: dataset_lib.Dataset
  widths: tuple
  activation: str
  batch_size: int
  seed: int
  steps: tuple
  shots: int = sampling.SHOTS_PER_CLASS
  num_draws: int = 10

  def __post_init__(self):
    object.__setattr__(self, 'steps', check_steps(self.steps))
    object.__setattr__(self, 'widths', check_widths(self.widths))
    if not 2 <= self.batch_size <= len(self.data):
      raise ValueError(f'`batch_size` must be in [2, {len(self.data)}] for '
                       f'{self.data.name}, got {self.batch_size}.')
    if self.num_draws < 1:
      raise ValueError(f'`num_draws` must be >= 1, got {self.num_draws}.')

  @property
  def feature_size(self):
    return self.widths[-1]

  def chunks(self, max_chunk=MAX_CHUNK):
    """Yields ``(step, batches, probe)`` in order, up to the last step.

    ``batches`` is ``[n, batch_size, D]``, at most ``max_chunk`` unlabeled
    batches, after which the method has seen ``step`` batches; ``probe``
    says whether ``step`` is one of :attr:`steps` (step 0 comes with no
    batches). The sequence of batches depends on the seed alone, not on
    ``max_chunk`` or the probed steps, so every method sees the same one.
    """
    rng = np.random.default_rng([self.seed, _STREAM_KEY])
    done = 0
    for step in self.steps:
      if step == done:  # Step 0: nothing to train on yet.
        yield step, np.zeros((0, self.batch_size, self.data.input_dim),
                             self.data.features.dtype), True
      while done < step:
        count = min(max_chunk, step - done)
        batches = sampling.unlabeled_batches(self.data, count,
                                             self.batch_size, rng)
        done += count
        yield done, batches, done == step

  def draws(self):
    """The fixed few-shot :class:`FewShotBatch` draws of this setting."""
    rng = np.random.default_rng([self.seed, _DRAWS_KEY])
    return [sampling.few_shot_batch(self.data, rng, self.shots)
            for _ in range(self.num_draws)]


def draw_features(features_fn, draws):
  """Features of support and query of each draw, computed in one call.

  Support and query go through ``features_fn`` together, as in the
  meta-objective (spec §5.2), so batch norm sees all of them.

  Args:
    features_fn: NumPy ``[N, D]`` → NumPy ``[N, F]``.
    draws: :class:`FewShotBatch` draws.

  Returns:
    A list of ``(support_features, query_features)``, one per draw.
  """
  result = []
  for draw in draws:
    count = len(draw.support_x)
    features = np.asarray(features_fn(
        np.concatenate([draw.support_x, draw.query_x], axis=0)))
    result.append((features[:count], features[count:]))
  return result


class FeatureMethod(abc.ABC):
  """A way of learning features whose few-shot quality is measured.

  Attributes:
    name: Short identifier used in results, e.g. 'learned_rule'.
  """

  name = None

  @abc.abstractmethod
  def trajectory(self, setting):
    """Yields ``(step, features)`` for every step of ``setting.steps``.

    ``features`` is what :func:`draw_features` returns for
    ``setting.draws()``: one ``(support_features, query_features)`` pair per
    draw, each ``[K, F]``.
    """

  def filter_history(self):
    """``[(step, first-layer weights [D, n])]`` of the last trajectory.

    Empty for methods without a first layer worth showing (paper Fig. 6).
    """
    return []


class UnsupervisedMethod(FeatureMethod):
  """A method that learns from the unlabeled stream only.

  Subclasses implement :meth:`start`, :meth:`train` and :meth:`features`;
  the trajectory feeds every chunk of :meth:`Setting.chunks` to
  :meth:`train` and probes the features after it.
  """

  @abc.abstractmethod
  def start(self, setting):
    """Returns the initial state of the method for ``setting``."""

  @abc.abstractmethod
  def train(self, state, batches):
    """Returns the state after training on ``batches`` ``[T, B, D]``.

    Called with ``T = 0`` for step 0, where it must return ``state``.
    """

  @abc.abstractmethod
  def features(self, state, inputs):
    """NumPy ``[N, D]`` inputs → NumPy ``[N, F]`` features."""

  def trajectory(self, setting):
    draws = setting.draws()
    state = self.start(setting)
    self._filters = []
    for step, batches, probe in setting.chunks():
      if len(batches):
        state = self.train(state, batches)
      if not probe:
        continue
      weights = self.first_layer(state)
      if weights is not None:
        self._filters.append((step, np.asarray(weights)))
      yield step, draw_features(lambda x: self.features(state, x), draws)

  def first_layer(self, state):  # pylint: disable=unused-argument
    """First-layer weights ``[D, n]`` of ``state`` (input order), or None."""
    return None

  def filter_history(self):
    return list(getattr(self, '_filters', []))
