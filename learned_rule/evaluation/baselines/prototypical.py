"""Prototypical-network baseline of the permuted-input comparison (spec §7.3).

The paper contrasts its learned rule, which only ever sees inputs whose
pixels are shuffled (spec §2.3), with a prototypical network (Snell et al.,
2017) whose fully connected architecture is that of the base model. The
network is trained episodically on meta-training classes and tested on
held-out classes, once with intact pixels and once with a fresh random pixel
permutation before every training and every test task; with permutation
its accuracy is "greatly reduced" (paper Fig. 2 right, spec §7.3, §8.2).

The embedding is the top-layer activation of the base model's stack of
``BN(x W) + b`` layers (spec §2.2), with batch statistics over the whole
episode, support and query together, as the probe of every other method
computes features (``protocol.draw_features``, spec §5.2). A query is
classified by the nearest class prototype, the mean support embedding of
the class, in squared Euclidean distance; training minimises the softmax
cross-entropy of the negative distances.
"""

import dataclasses
import typing

import gin
import keras
import numpy as np
import tensorflow as tf

from learned_rule.model import activations as activations_lib
from learned_rule.model import base_model
from learned_rule.model import local_dense
from learned_rule.data import sampling

# Spec §2.1: the evaluation base model, 4 × 128 hidden units and a 32-unit
# top layer (the embedding).
DEFAULT_WIDTHS = (128, 128, 128, 128, 32)
# Spec §7.3: the paper's comparison uses 10-way tasks.
DEFAULT_WAYS = 10
# Query examples per class of an episode; the paper does not state it. Ours,
# equal to the support size of spec §8.1.
DEFAULT_QUERIES = sampling.SHOTS_PER_CLASS
# Training episodes and Adam learning rate; the paper states neither. Ours.
DEFAULT_EPISODES = 2000
DEFAULT_LEARNING_RATE = 1e-3

# Distinct seed streams for the tasks and for the permutations, so that a
# run with ``permute=True`` sees the same classes and examples as one
# without (a paired comparison).
_TASKS_KEY = 1
_PERMUTATIONS_KEY = 2


class Evaluation(typing.NamedTuple):
  """Query accuracy on held-out tasks.

  Attributes:
    accuracy: Mean query accuracy over the tasks.
    task_accuracies: Query accuracy of every task, in the order drawn.
  """

  accuracy: float
  task_accuracies: list


def draw_permutation(input_dim, rng):
  """A uniformly random permutation of ``input_dim`` input features.

  Args:
    input_dim: Number of input features.
    rng: ``np.random.Generator``; every call draws a fresh permutation.

  Returns:
    int64 ``[input_dim]``: position i of a permuted input holds feature
    ``permutation[i]``.
  """
  if isinstance(input_dim, bool) or not isinstance(
      input_dim, (int, np.integer)) or input_dim < 1:
    raise ValueError(f'`input_dim` must be a positive int, got {input_dim!r}.')
  return rng.permutation(int(input_dim))


def split_classes(data, held_out_classes):
  """Splits a dataset by class into meta-training and held-out datasets.

  For one dataset that provides both, e.g. digits 0–5 for meta-training and
  6–9 held out. Each part keeps its classes in increasing order of their
  original label, relabelled 0..k-1.

  Args:
    data: A :class:`Dataset`.
    held_out_classes: Labels of the held-out classes; at least one, and at
      least one class must remain for meta-training.

  Returns:
    ``(train_data, test_data)``: the remaining classes and the held-out ones.
  """
  held_out = np.asarray(held_out_classes)
  if held_out.ndim != 1 or not held_out.size or not np.issubdtype(
      held_out.dtype, np.integer):
    raise ValueError(f'`held_out_classes` must be a non-empty list of class '
                     f'labels, got {held_out_classes!r}.')
  if len(np.unique(held_out)) != len(held_out):
    raise ValueError(f'`held_out_classes` repeats a class: '
                     f'{held_out.tolist()}.')
  all_classes = np.arange(data.num_classes)
  unknown = np.setdiff1d(held_out, all_classes)
  if unknown.size:
    raise ValueError(f'{data.name} has no classes {unknown.tolist()}; its '
                     f'labels are 0..{data.num_classes - 1}.')
  remaining = np.setdiff1d(all_classes, held_out)
  if not remaining.size:
    raise ValueError(f'`held_out_classes` holds every class of {data.name}; '
                     f'at least one must remain for meta-training.')
  return (_class_subset(data, remaining, 'meta_train'),
          _class_subset(data, np.sort(held_out), 'held_out'))


def _class_subset(data, classes, part):
  """The examples of sorted ``classes``, relabelled 0..k-1."""
  new_label = np.full(data.num_classes, -1, np.int64)
  new_label[classes] = np.arange(len(classes))
  indices = np.flatnonzero(np.isin(data.labels, classes))
  subset = data.subset(indices, split=f'{data.split}/{part}')
  names = (tuple(data.class_names[c] for c in classes)
           if data.class_names else ())
  return dataclasses.replace(subset, labels=new_label[subset.labels],
                             num_classes=len(classes), class_names=names)


def prototype_logits(support_embeddings, support_labels, query_embeddings,
                     num_classes):
  """Negative squared Euclidean distances of queries to class prototypes.

  Args:
    support_embeddings: ``[K, F]``.
    support_labels: int ``[K]`` in ``0..num_classes-1``, every class present.
    query_embeddings: ``[Q, F]``.
    num_classes: Number of classes of the task.

  Returns:
    ``[Q, num_classes]`` logits.
  """
  one_hot = tf.one_hot(support_labels, num_classes,
                       dtype=support_embeddings.dtype)
  prototypes = tf.matmul(one_hot, support_embeddings, transpose_a=True)
  prototypes /= tf.reduce_sum(one_hot, axis=0)[:, None]
  differences = query_embeddings[:, None, :] - prototypes[None, :, :]
  return -tf.reduce_sum(tf.square(differences), axis=-1)


def _check_count(name, value, minimum):
  if isinstance(value, bool) or not isinstance(
      value, (int, np.integer)) or value < minimum:
    raise ValueError(f'`{name}` must be an int >= {minimum}, got {value!r}.')
  return int(value)


# What the ablation sets per run is not for gin; the rest is.
@gin.configurable(denylist=['widths', 'activation', 'episodes', 'ways',
                            'shots', 'permute', 'seed'])
class PrototypicalNetwork:
  """A prototypical network on the base model's architecture (spec §7.3).

  Args:
    widths: Widths of the weight layers, bottom to top; the top layer's
      activations are the embedding (spec §2.1 default).
    activation: Nonlinearity of every layer, a name of
      :data:`learned_rule.model.activations.ACTIVATIONS`.
    learning_rate: Adam learning rate (ours; not in the paper).
    episodes: Number of training episodes (ours; not in the paper).
    ways: Classes per task (spec §7.3: 10), at least 2.
    shots: Support examples per class (spec §8.1: 10).
    queries: Query examples per class (ours).
    permute: Draw a fresh random input permutation for every training
      episode and every test task (spec §7.3).
    seed: Seeds the initial weights and the training episodes.
  """

  def __init__(self,
               widths=DEFAULT_WIDTHS,
               activation='relu',
               learning_rate=DEFAULT_LEARNING_RATE,
               episodes=DEFAULT_EPISODES,
               ways=DEFAULT_WAYS,
               shots=sampling.SHOTS_PER_CLASS,
               queries=DEFAULT_QUERIES,
               permute=False,
               seed=0):
    widths = tuple(widths)
    if not widths:
      raise ValueError('`widths` must name at least one layer.')
    self.widths = tuple(_check_count(f'widths[{i}]', width, 1)
                        for i, width in enumerate(widths))
    self.activation_name = activations_lib.check_activation(activation)
    self.activation = activations_lib.get(activation)
    if not learning_rate > 0:
      raise ValueError(f'`learning_rate` must be > 0, got {learning_rate!r}.')
    self.learning_rate = float(learning_rate)
    self.episodes = _check_count('episodes', episodes, 0)
    self.ways = _check_count('ways', ways, 2)
    self.shots = _check_count('shots', shots, 1)
    self.queries = _check_count('queries', queries, 1)
    self.permute = bool(permute)
    self.seed = int(seed)
    self.input_dim = None
    self._kernels = self._offsets = None
    # Training streams: [seed, 0, key], apart from evaluate's [seed, key].
    self._episode_rngs = (
        np.random.default_rng([self.seed, 0, _TASKS_KEY]),
        np.random.default_rng([self.seed, 0, _PERMUTATIONS_KEY]))

  # -- Parameters and the compiled functions. --------------------------------

  def _build(self, input_dim):
    """Creates the weights on first use, with the base model's init."""
    if self.input_dim is not None:
      if input_dim != self.input_dim:
        raise ValueError(f'This network takes {self.input_dim} input '
                         f'features, got data with {input_dim}.')
      return
    self.input_dim = input_dim
    state = base_model.initial_state(input_dim, self.widths, self.seed)
    self._kernels = [tf.Variable(entry[base_model.KERNEL], name='kernel')
                     for entry in state[base_model.LAYERS]]
    self._offsets = [tf.Variable(entry[base_model.OFFSET], name='offset')
                     for entry in state[base_model.LAYERS]]
    self._optimizer = keras.optimizers.Adam(self.learning_rate)
    self._train_step = tf.function(self._loss_and_update)
    self._predict = tf.function(self._query_predictions, reduce_retracing=True)

  @property
  def trainable_variables(self):
    return list(self._kernels or []) + list(self._offsets or [])

  def embed(self, inputs):
    """Top-layer activations ``[N, widths[-1]]`` of a batch ``[N, D]``."""
    x = inputs
    for kernel, offset in zip(self._kernels, self._offsets):
      _, x = local_dense.dense_batch_norm(x, kernel, offset, self.activation)
    return x

  def _episode_logits(self, support_x, support_y, query_x, num_classes):
    embeddings = self.embed(tf.concat([support_x, query_x], axis=0))
    count = tf.shape(support_x)[0]
    return prototype_logits(embeddings[:count], support_y, embeddings[count:],
                            num_classes)

  def _loss_and_update(self, support_x, support_y, query_x, query_y):
    variables = self.trainable_variables
    with tf.GradientTape() as tape:
      logits = self._episode_logits(support_x, support_y, query_x, self.ways)
      loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
          labels=query_y, logits=logits))
    gradients = tape.gradient(loss, variables)
    self._optimizer.apply_gradients(zip(gradients, variables))
    return loss

  def _query_predictions(self, support_x, support_y, query_x, num_classes):
    logits = self._episode_logits(support_x, support_y, query_x, num_classes)
    return tf.argmax(logits, axis=-1, output_type=tf.int32)

  # -- Tasks. ----------------------------------------------------------------

  def _task(self, data, classes, members, rng, permutation):
    """Support and query of ``classes`` (relabelled), optionally permuted."""
    support, query = [], []
    for new_label, label in enumerate(classes):
      chosen = rng.choice(members[label], self.shots + self.queries,
                          replace=False)
      support.append(chosen[:self.shots])
      query.append(chosen[self.shots:])
    support_y = np.repeat(np.arange(len(classes), dtype=np.int32), self.shots)
    query_y = np.repeat(np.arange(len(classes), dtype=np.int32), self.queries)
    support_x = data.features[np.concatenate(support)]
    query_x = data.features[np.concatenate(query)]
    if permutation is not None:
      support_x, query_x = support_x[:, permutation], query_x[:, permutation]
    return support_x, support_y, query_x, query_y

  def _members(self, data):
    """Examples of every class, after checking each class has enough."""
    needed = self.shots + self.queries
    members = [np.flatnonzero(data.labels == label)
               for label in range(data.num_classes)]
    for label, indices in enumerate(members):
      if len(indices) < needed:
        raise ValueError(
            f'{data.name} class {label} has {len(indices)} examples; {needed}'
            f' are needed for {self.shots} support + {self.queries} query.')
    return members

  # -- Training and evaluation. ----------------------------------------------

  def fit(self, train_data):
    """Trains for ``episodes`` episodes on the classes of ``train_data``.

    Every episode draws ``ways`` of its classes, ``shots`` support and
    ``queries`` query examples of each and, if ``permute``, a fresh input
    permutation. Calling ``fit`` again continues training with new episodes.

    Args:
      train_data: A :class:`Dataset` of the meta-training classes, with at
        least ``ways`` classes.

    Returns:
      NumPy float ``[episodes]``: the query loss of every episode.
    """
    if train_data.num_classes < self.ways:
      raise ValueError(f'{train_data.name} has {train_data.num_classes} '
                       f'classes; training needs at least `ways`='
                       f'{self.ways}.')
    members = self._members(train_data)
    self._build(train_data.input_dim)
    # One episode stream per network, continued by every call, so that the
    # first n episodes are the same however training is split into calls.
    tasks_rng, permutations_rng = self._episode_rngs
    losses = np.zeros(self.episodes, np.float32)
    for episode in range(self.episodes):
      classes = sampling.sample_classes(train_data, self.ways, tasks_rng)
      permutation = (draw_permutation(train_data.input_dim, permutations_rng)
                     if self.permute else None)
      batch = self._task(train_data, classes, members, tasks_rng, permutation)
      losses[episode] = float(self._train_step(*batch))
    return losses

  def evaluate(self, test_data, num_tasks, seed):
    """Mean query accuracy on tasks drawn from the classes of ``test_data``.

    Every task draws ``ways`` classes, or all classes of ``test_data`` when
    it has fewer than ``ways``; ``shots`` support and ``queries`` query
    examples of each; and, if ``permute``, a fresh input permutation. Tasks
    and permutations come from separate streams of ``seed``, so the same
    seed gives the same tasks with and without permutation. Before
    :meth:`fit` this scores the untrained network.

    Args:
      test_data: A :class:`Dataset` of held-out classes (at least 2).
      num_tasks: Number of tasks, at least 1.
      seed: Seeds the tasks and permutations.

    Returns:
      An :class:`Evaluation`.
    """
    num_tasks = _check_count('num_tasks', num_tasks, 1)
    if test_data.num_classes < 2:
      raise ValueError(f'{test_data.name} has {test_data.num_classes} '
                       f'class; a task needs at least 2.')
    members = self._members(test_data)
    self._build(test_data.input_dim)
    ways = min(self.ways, test_data.num_classes)
    tasks_rng = np.random.default_rng([seed, _TASKS_KEY])
    permutations_rng = np.random.default_rng([seed, _PERMUTATIONS_KEY])
    accuracies = []
    for _ in range(num_tasks):
      classes = sampling.sample_classes(test_data, ways, tasks_rng)
      permutation = (draw_permutation(test_data.input_dim, permutations_rng)
                     if self.permute else None)
      support_x, support_y, query_x, query_y = self._task(
          test_data, classes, members, tasks_rng, permutation)
      predictions = self._predict(support_x, support_y, query_x, ways)
      accuracies.append(float(np.mean(predictions.numpy() == query_y)))
    return Evaluation(float(np.mean(accuracies)), accuracies)
